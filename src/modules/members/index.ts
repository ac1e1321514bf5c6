export { type MergeInput, type MergeResult, mergeMembers } from "./merge.js";
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
  parseTagList,
  recordConsents,
  setMemberTags,
  updateMember,
  upsertMemberByIdentifier,
} from "./service.js";
export { authenticateCustomer, CustomerTokenHeaders, customerOf } from "./storefront-routes.js";
export { getMemberTimeline, type TimelineItem, type TimelinePage } from "./timeline.js";
