export { registerCheckoutRoutes } from "./checkout-routes.js";
export { rewardsOnOrderPaid, rewardsOnOrderUndone } from "./orders.js";
export { registerRewardRoutes } from "./routes.js";
export {
  cancelRedemption,
  consumeCode,
  createReward,
  getRedemption,
  redeemReward,
  releaseCode,
  validateCode,
} from "./service.js";
