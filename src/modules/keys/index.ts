export { registerKeyRoutes } from "./routes.js";
export {
  type ApiKey,
  type ApiKeyKind,
  type CreatedApiKey,
  createApiKey,
  findActiveKeyByToken,
  getApiKey,
  listApiKeys,
  recordKeyUse,
  revokeApiKey,
} from "./service.js";
