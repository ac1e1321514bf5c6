import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import type { RateLimiter } from "./rate-limit.js";

export type KeyKind = "secret" | "publishable";

/** Who is calling: the shop the key belongs to, and which key. */
export interface Caller {
  shopId: string;
  keyId: string;
  kind: KeyKind;
}

/**
 * Which keys a route accepts: `secret` (the default under /v1), `publishable` (storefront routes,
 * which accept secret keys too) or `none` (health, docs, signed platform webhooks).
 */
export type RouteAuth = "secret" | "publishable" | "none";

declare module "fastify" {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export interface AuthOptions {
  /** The active key for a bearer token, or undefined for an unknown or revoked one. */
  resolveKey(token: string): Promise<Caller | undefined>;
  rateLimiter: RateLimiter | null;
}

function routeAuth(request: FastifyRequest): RouteAuth {
  const declared = request.routeOptions.config?.auth;
  if (declared) return declared;
  return request.routeOptions.url?.startsWith("/v1/") ? "secret" : "none";
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest("caller", null);
  app.addHook("onRequest", async (request, reply) => {
    const required = routeAuth(request);
    if (required === "none") return;
    const token = bearerToken(request);
    if (!token) {
      throw new AppError("missing_api_key", "Send your key as Authorization: Bearer <key>", {
        headers: { "www-authenticate": 'Bearer realm="laurel"' },
      });
    }
    const caller = await options.resolveKey(token);
    if (!caller) {
      throw new AppError("invalid_api_key", "The key is unknown or has been revoked", {
        headers: { "www-authenticate": 'Bearer realm="laurel", error="invalid_token"' },
      });
    }
    if (required === "secret" && caller.kind !== "secret") {
      throw new AppError("secret_key_required", "Publishable keys reach storefront endpoints only; use a secret key");
    }
    request.caller = caller;
    if (options.rateLimiter) {
      const decision = options.rateLimiter.take(caller.keyId);
      reply.header("ratelimit-limit", decision.limit);
      reply.header("ratelimit-remaining", decision.remaining);
      if (!decision.allowed) {
        throw new AppError("rate_limited", "This key has used up its request budget; retry after Retry-After seconds", {
          headers: { "retry-after": String(decision.retryAfterSeconds) },
        });
      }
    }
  });
}

/** The caller of a route that requires a key. Throws if used on a route without auth. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url} has no authenticated caller`);
  return request.caller;
}
