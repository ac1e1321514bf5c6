export { registerShopRoutes } from "./routes.js";
export { toShopResponse } from "./schema.js";
export {
  createDemoShopIfEmpty,
  createShopWithKeys,
  getCustomerTokenSecret,
  getShop,
  listShops,
  type NewShop,
  rotateCustomerTokenSecret,
  type Shop,
  type ShopWithKeys,
} from "./service.js";
