export { registerKeyRoutes } from "./routes.js";
export { toApiKeyResponse } from "./schema.js";
export {
  type ApiKey,
  type ApiKeyKind,
  type CreatedApiKey,
  createApiKey,
  findActiveKeyByToken,
  getApiKey,
  listAllApiKeys,
  listApiKeys,
  recordKeyUse,
  revokeApiKey,
} from "./service.js";
