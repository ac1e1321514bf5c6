import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Clock } from "../clock.js";
import type { DatabaseHandle } from "../db/database.js";
import { AppError } from "../errors.js";

export interface IdempotencyKeysTable {
  shop_id: string;
  idempotency_key: string;
  /** SHA-256 of method, path and body: the same key with another request is refused. */
  request_hash: string;
  state: "in_progress" | "completed";
  response_status: number | null;
  response_content_type: string | null;
  response_body: string | null;
  /** While in progress, other requests with the key wait until then; after it a crashed attempt may be retried. */
  locked_until: string;
  created_at: string;
  completed_at: string | null;
}

/** How long a stored response is replayed; after that the key may be used afresh. */
export const idempotencyKeyLifetimeMs = 24 * 60 * 60 * 1000;
/** How long an attempt holds its key before a retry may take over (covers a process that died mid-request). */
const inProgressLeaseMs = 60 * 1000;
const keyPattern = /^[\x21-\x7e]{1,255}$/;
const mutatingMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

declare module "fastify" {
  interface FastifyRequest {
    idempotency: { key: string; replayed: boolean } | null;
  }
}

function requestHash(request: FastifyRequest): string {
  return createHash("sha256")
    .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
    .digest("hex");
}

/**
 * Every mutating route with a caller honours an `Idempotency-Key` header: the first request runs
 * and its response is stored per (shop, key); later requests with the same key get that response
 * again (`Idempotent-Replayed: true`); the same key with a different request is 409
 * `idempotency_key_reused`; a duplicate arriving while the first still runs is 409
 * `idempotency_request_in_progress` and does not run. A 5xx response is not stored, so the request
 * may be retried.
 */
export function registerIdempotency(app: FastifyInstance, deps: { database: DatabaseHandle; clock: Clock }): void {
  const { db } = deps.database;
  app.decorateRequest("idempotency", null);

  app.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers["idempotency-key"];
    if (header === undefined || !mutatingMethods.has(request.method) || !request.caller) return;
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined || !keyPattern.test(key)) {
      throw new AppError("validation_failed", "Idempotency-Key must be 1 to 255 visible ASCII characters", {
        errors: [{ pointer: "/headers/idempotency-key", message: "must be 1 to 255 visible ASCII characters" }],
      });
    }
    const shopId = request.caller.shopId;
    const hash = requestHash(request);
    const now = deps.clock.now();
    const lockedUntil = new Date(now.getTime() + inProgressLeaseMs).toISOString();

    const inserted = await db
      .insertInto("idempotency_keys")
      .values({
        shop_id: shopId,
        idempotency_key: key,
        request_hash: hash,
        state: "in_progress",
        response_status: null,
        response_content_type: null,
        response_body: null,
        locked_until: lockedUntil,
        created_at: now.toISOString(),
        completed_at: null,
      })
      .onConflict((conflict) => conflict.columns(["shop_id", "idempotency_key"]).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) {
      request.idempotency = { key, replayed: false };
      return;
    }

    const existing = await db
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("shop_id", "=", shopId)
      .where("idempotency_key", "=", key)
      .executeTakeFirst();
    if (!existing)
      throw new AppError("idempotency_request_in_progress", "Retry the request", { headers: { "retry-after": "1" } });

    const isStale = new Date(existing.created_at).getTime() + idempotencyKeyLifetimeMs <= now.getTime();
    const isAbandoned = existing.state === "in_progress" && existing.locked_until <= now.toISOString();
    if (!isStale && existing.request_hash !== hash) {
      throw new AppError(
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request; use a new key for a new request",
      );
    }
    if (isStale || isAbandoned) {
      // Take the key over only if nobody else did first: the update is conditional on what we read.
      const taken = await db
        .updateTable("idempotency_keys")
        .set({
          request_hash: hash,
          state: "in_progress",
          response_status: null,
          response_content_type: null,
          response_body: null,
          locked_until: lockedUntil,
          created_at: now.toISOString(),
          completed_at: null,
        })
        .where("shop_id", "=", shopId)
        .where("idempotency_key", "=", key)
        .where("created_at", "=", existing.created_at)
        .where("locked_until", "=", existing.locked_until)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 1) {
        request.idempotency = { key, replayed: false };
        return;
      }
      throw new AppError("idempotency_request_in_progress", "Another request with this key is running", {
        headers: { "retry-after": "1" },
      });
    }
    if (existing.state === "in_progress") {
      throw new AppError("idempotency_request_in_progress", "The first request with this key has not finished yet", {
        headers: { "retry-after": "1" },
      });
    }
    request.idempotency = { key, replayed: true };
    return reply
      .code(existing.response_status ?? 200)
      .header("idempotent-replayed", "true")
      .type(existing.response_content_type ?? "application/json")
      .send(existing.response_body ?? "");
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const idempotency = request.idempotency;
    if (!idempotency || idempotency.replayed || !request.caller) return payload;
    const where = { shopId: request.caller.shopId, key: idempotency.key };
    if (reply.statusCode >= 500 || (typeof payload !== "string" && payload !== null)) {
      await db
        .deleteFrom("idempotency_keys")
        .where("shop_id", "=", where.shopId)
        .where("idempotency_key", "=", where.key)
        .execute();
      return payload;
    }
    const contentType = reply.getHeader("content-type");
    await db
      .updateTable("idempotency_keys")
      .set({
        state: "completed",
        response_status: reply.statusCode,
        response_content_type: typeof contentType === "string" ? contentType : null,
        response_body: payload ?? "",
        completed_at: deps.clock.now().toISOString(),
      })
      .where("shop_id", "=", where.shopId)
      .where("idempotency_key", "=", where.key)
      .execute();
    return payload;
  });
}
