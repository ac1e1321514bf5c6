export { registerShopRoutes } from "./routes.js";
export {
  createDemoShopIfEmpty,
  createShopWithKeys,
  getShop,
  listShops,
  type NewShop,
  type Shop,
  type ShopWithKeys,
} from "./service.js";
