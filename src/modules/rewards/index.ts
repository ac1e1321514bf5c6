export { registerRewardRoutes } from "./routes.js";
export { cancelRedemption, consumeCode, createReward, redeemReward, releaseCode, validateCode } from "./service.js";
