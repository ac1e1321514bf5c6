import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../../platform/deps.js";
import { registerCustomerTokenRoutes } from "./customer-token-routes.js";
import { registerStorefrontRoutes } from "./storefront-routes.js";

/** Storefront identity: customer tokens and the secret that signs them, and the `/v1/me` routes they open. */
export function registerIdentityRoutes(app: FastifyInstance, deps: AppDeps): void {
  registerCustomerTokenRoutes(app, deps);
  registerStorefrontRoutes(app, deps);
}
