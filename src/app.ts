import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { registerIntegrationRoutes } from "./integrations/routes.js";
import { registerEventRoutes, registerEventTypeRoutes } from "./modules/events/index.js";
import { registerExchangeRateRoutes } from "./modules/exchange-rates/routes.js";
import { type ApiKey, findActiveKeyByToken, recordKeyUse, registerKeyRoutes } from "./modules/keys/index.js";
import { registerLedgerRoutes } from "./modules/ledger/index.js";
import { registerMemberRoutes } from "./modules/members/index.js";
import { registerCheckoutRoutes, registerRewardRoutes } from "./modules/rewards/index.js";
import { registerRuleRoutes } from "./modules/rules/routes.js";
import { registerShopRoutes } from "./modules/shops/index.js";
import { registerTierRoutes } from "./modules/tiers/index.js";
import type { AppDeps } from "./platform/deps.js";
import { type Caller, registerAuth } from "./platform/http/auth.js";
import { registerIdempotency } from "./platform/http/idempotency.js";
import { registerObservability } from "./platform/http/observability.js";
import { registerOpenApi } from "./platform/http/openapi.js";
import { registerProblemHandlers } from "./platform/http/problem.js";
import { createRateLimiter } from "./platform/http/rate-limit.js";
import { validatorCompiler } from "./platform/http/validation.js";
import { newId } from "./platform/ids.js";

const requestIdPattern = /^[\w.:-]{1,128}$/;
const keyUseRecordIntervalMs = 60_000;

/** Resolves bearer tokens to callers and records key use at most once a minute per key per process. */
function keyResolver(deps: AppDeps): (token: string) => Promise<Caller | undefined> {
  const lastRecorded = new Map<string, number>();
  return async (token) => {
    const key: ApiKey | undefined = await findActiveKeyByToken(deps.database.db, token);
    if (!key) return undefined;
    const now = deps.clock.now();
    const previous = lastRecorded.get(key.id) ?? (key.lastUsedAt ? new Date(key.lastUsedAt).getTime() : 0);
    if (now.getTime() - previous >= keyUseRecordIntervalMs) {
      lastRecorded.set(key.id, now.getTime());
      // Bookkeeping only: a busy database must not fail the request it rides on.
      await recordKeyUse(deps.database.db, key, now).catch((error: unknown) =>
        deps.logger.warn({ err: error, keyId: key.id }, "could not record API key use"),
      );
    }
    return { shopId: key.shopId, keyId: key.id, kind: key.kind };
  };
}

/** Composes the HTTP server: platform plumbing first, then each module's routes. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers["x-request-id"];
      return typeof incoming === "string" && requestIdPattern.test(incoming) ? incoming : newId("request");
    },
    return503OnClosing: true,
    // Path parameters carry identifiers (PUT /v1/members/by/email/…): a 320-character email,
    // percent-encoded, must fit; the default 100 would refuse long addresses before any handler.
    routerOptions: { maxParamLength: 1000 },
  });
  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only; any other body is 415 rather than a string the schema then rejects.
  app.removeContentTypeParser("text/plain");
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  registerProblemHandlers(app);
  await registerOpenApi(app);
  registerObservability(app, deps);
  registerAuth(app, {
    resolveKey: keyResolver(deps),
    rateLimiter:
      config.rateLimitPerSecond > 0
        ? createRateLimiter({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst, clock: deps.clock })
        : null,
  });
  registerIdempotency(app, deps);

  registerShopRoutes(app, deps);
  registerKeyRoutes(app, deps);
  registerMemberRoutes(app, deps);
  registerLedgerRoutes(app, deps);
  registerExchangeRateRoutes(app, deps);
  registerEventTypeRoutes(app, deps);
  registerRuleRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerTierRoutes(app, deps);
  registerRewardRoutes(app, deps);
  registerCheckoutRoutes(app, deps);
  registerIntegrationRoutes(app, deps);

  await app.ready();
  return app;
}
