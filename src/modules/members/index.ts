export { registerMemberRoutes } from "./routes.js";
export { toMemberResponse } from "./schema.js";
export { createMember, getMember, type Member } from "./service.js";
