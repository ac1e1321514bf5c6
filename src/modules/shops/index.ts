export { registerShopRoutes } from "./routes.js";
export { toShopResponse } from "./schema.js";
export {
  createDemoShopIfEmpty,
  createShopWithKeys,
  getShop,
  listShops,
  type NewShop,
  type Shop,
  type ShopWithKeys,
} from "./service.js";
