export { type Identifier, type Member, toMemberJson as toMemberResponse } from "./representation.js";
export { registerMemberRoutes } from "./routes.js";
export {
  type CreateMemberInput,
  cancelMember,
  claimMember,
  createMember,
  getMember,
  joinMember,
  listMembers,
  recordConsents,
  updateMember,
  upsertMemberByIdentifier,
} from "./service.js";
