export type { TierBenefits, TierProgram } from "./program.js";
export { getTierProgress, previewProgram } from "./queries.js";
export { registerTierRoutes } from "./routes.js";
export {
  assignTier,
  evaluateAfterActivity,
  getProgram,
  grantBirthdayGift,
  memberTierState,
  reevaluateAllMembers,
  reevaluateDueMembers,
  type StoredProgram,
  saveProgram,
  type TierChangeResult,
} from "./service.js";
