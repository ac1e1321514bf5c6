import { createHash } from "node:crypto";
import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

describeEachDialect("Idempotency-Key", (dialect) => {
  const t = useTestApp(dialect);

  async function keyCount(shopId: string): Promise<number> {
    return (await t().database.db.selectFrom("api_keys").select("id").where("shop_id", "=", shopId).execute()).length;
  }

  function createKey(token: string, idempotencyKey: string, name = "Checkout") {
    return t().app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: { ...bearer(token), "idempotency-key": idempotencyKey },
      payload: { kind: "publishable", name },
    });
  }

  it("replays the first response and runs the request once", async () => {
    const { shop, secretKey } = await createShop(t());
    const first = await createKey(secretKey, "order-1001");
    expect(first.statusCode).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const second = await createKey(secretKey, "order-1001");
    expect(second.statusCode).toBe(201);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.json()).toEqual(first.json());
    expect(await keyCount(shop.id)).toBe(3);
  });

  it("refuses the same key with a different body with 409 idempotency_key_reused", async () => {
    const { shop, secretKey } = await createShop(t());
    await createKey(secretKey, "order-1002", "First");
    const reused = await createKey(secretKey, "order-1002", "Second");
    expect(reused.statusCode).toBe(409);
    expect(reused.json().code).toBe("idempotency_key_reused");
    expect(await keyCount(shop.id)).toBe(3);
  });

  it("replays a refused request as refused", async () => {
    const { secretKey, secretKeyId } = await createShop(t());
    const send = () =>
      t().app.inject({
        method: "POST",
        url: `/v1/keys/${secretKeyId}/revoke`,
        headers: { ...bearer(secretKey), "idempotency-key": "revoke-1" },
      });
    const first = await send();
    expect(first.statusCode).toBe(409);
    expect(first.json().code).toBe("last_secret_key");
    const second = await send();
    expect(second.statusCode).toBe(409);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.json().code).toBe("last_secret_key");
  });

  it("keeps keys per shop: two shops may use the same key", async () => {
    const first = await createShop(t());
    const second = await createShop(t());
    const a = await createKey(first.secretKey, "shared-key");
    const b = await createKey(second.secretKey, "shared-key");
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers["idempotent-replayed"]).toBeUndefined();
    expect(b.json().id).not.toBe(a.json().id);
    expect(await keyCount(second.shop.id)).toBe(3);
  });

  it("runs concurrent duplicates once; the others are replays or told to retry", async () => {
    const { shop, secretKey } = await createShop(t());
    const responses = await Promise.all(Array.from({ length: 10 }, () => createKey(secretKey, "burst-1")));
    const created = responses.filter((response) => response.statusCode === 201);
    const inProgress = responses.filter((response) => response.statusCode === 409);
    expect(created.length + inProgress.length).toBe(10);
    expect(new Set(created.map((response) => response.json().id)).size).toBe(1);
    for (const response of inProgress) expect(response.json().code).toBe("idempotency_request_in_progress");
    expect(await keyCount(shop.id)).toBe(3);
  });

  it("lets the key be used afresh after 24 hours", async () => {
    const { shop, secretKey } = await createShop(t());
    const first = await createKey(secretKey, "daily");
    t().clock.advance(24 * 60 * 60 * 1000 + 1);
    const later = await createKey(secretKey, "daily");
    expect(later.statusCode).toBe(201);
    expect(later.headers["idempotent-replayed"]).toBeUndefined();
    expect(later.json().id).not.toBe(first.json().id);
    expect(await keyCount(shop.id)).toBe(4);
  });

  it("lets a retry take over a request whose process died mid-way", async () => {
    const { shop, secretKey } = await createShop(t());
    const now = t().clock.now();
    await t()
      .database.db.insertInto("idempotency_keys")
      .values({
        shop_id: shop.id,
        idempotency_key: "crashed",
        request_hash: createHash("sha256")
          .update(`POST /v1/keys\n${JSON.stringify({ kind: "publishable", name: "Checkout" })}`)
          .digest("hex"),
        state: "in_progress",
        response_status: null,
        response_content_type: null,
        response_body: null,
        locked_until: new Date(now.getTime() + 60_000).toISOString(),
        created_at: now.toISOString(),
        completed_at: null,
      })
      .execute();
    const whileLocked = await createKey(secretKey, "crashed");
    expect(whileLocked.statusCode).toBe(409);
    expect(whileLocked.json().code).toBe("idempotency_request_in_progress");
    expect(whileLocked.headers["retry-after"]).toBe("1");
    t().clock.advance(60_001);
    const retried = await createKey(secretKey, "crashed");
    expect(retried.statusCode).toBe(201);
    expect(await keyCount(shop.id)).toBe(3);
  });

  it("refuses a malformed Idempotency-Key", async () => {
    const { shop, secretKey } = await createShop(t());
    const response = await createKey(secretKey, "x".repeat(256));
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].pointer).toBe("/headers/idempotency-key");
    expect(await keyCount(shop.id)).toBe(2);
  });
});
