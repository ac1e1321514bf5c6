import type { LightMyRequestResponse } from "fastify";
import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";

function expectProblem(response: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json() as Record<string, unknown>;
  expect(problem).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
  expect(problem.request_id).toBe(response.headers["x-request-id"]);
  return problem;
}

describeEachDialect("member endpoints", (dialect) => {
  const t = useTestApp(dialect);

  async function memberIds(shopId: string): Promise<string[]> {
    const rows = await t().database.db.selectFrom("members").select("id").where("shop_id", "=", shopId).execute();
    return rows.map((row) => row.id);
  }

  it("creates an active member with an empty points account and a member.created event", async () => {
    const { shop, secretKey } = await createShop(t());
    t().clock.advance(60_000);
    const now = t().clock.now().toISOString();
    const created = await t().app.inject({ method: "POST", url: "/v1/members", headers: bearer(secretKey) });
    expect(created.statusCode, created.body).toBe(201);
    const member = created.json();
    expect(member).toEqual({
      id: expect.stringMatching(/^mem_[0-9A-Z]{26}$/),
      object: "member",
      status: "active",
      created_at: now,
      updated_at: now,
    });

    const fetched = await t().app.inject({
      method: "GET",
      url: `/v1/members/${member.id}`,
      headers: bearer(secretKey),
    });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(member);

    const points = await t().app.inject({
      method: "GET",
      url: `/v1/members/${member.id}/points`,
      headers: bearer(secretKey),
    });
    expect(points.statusCode).toBe(200);
    expect(points.json()).toEqual({
      object: "points_summary",
      member_id: member.id,
      available: 0,
      pending: 0,
      reserved: 0,
      lifetime_earned: 0,
      lifetime_spent: 0,
      lifetime_expired: 0,
      next_expiration: null,
      expiring_within_30_days: 0,
      as_of: now,
    });

    const events = await t().database.db.selectFrom("outbox").selectAll().where("shop_id", "=", shop.id).execute();
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      type: "member.created",
      subject_type: "member",
      subject_id: member.id,
      created_at: now,
      dispatched_at: null,
    });
    expect(JSON.parse(event?.payload ?? "null")).toEqual({
      id: event?.id,
      type: "member.created",
      created_at: now,
      shop_id: shop.id,
      data: { member },
    });
  });

  it("accepts an empty JSON object as well as no body", async () => {
    const { shop, secretKey } = await createShop(t());
    const created = await t().app.inject({
      method: "POST",
      url: "/v1/members",
      headers: bearer(secretKey),
      payload: {},
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(await memberIds(shop.id)).toEqual([created.json().id]);
  });

  it("creates one member for one Idempotency-Key", async () => {
    const { shop, secretKey } = await createShop(t());
    const headers = { ...bearer(secretKey), "idempotency-key": "signup-42" };
    const first = await t().app.inject({ method: "POST", url: "/v1/members", headers });
    const again = await t().app.inject({ method: "POST", url: "/v1/members", headers });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toBe(first.body);
    expect(await memberIds(shop.id)).toEqual([first.json().id]);
  });

  it("answers 404 for an unknown member and for another shop's member", async () => {
    const mine = await createShop(t());
    const theirs = await createShop(t());
    const theirMember = (
      await t().app.inject({ method: "POST", url: "/v1/members", headers: bearer(theirs.secretKey) })
    ).json();

    const unknown = await t().app.inject({
      method: "GET",
      url: "/v1/members/mem_01JD3M8Q6V9KX2T4R7B5N0CZHF",
      headers: bearer(mine.secretKey),
    });
    expectProblem(unknown, 404, "member_not_found");

    const other = await t().app.inject({
      method: "GET",
      url: `/v1/members/${theirMember.id}`,
      headers: bearer(mine.secretKey),
    });
    const problem = expectProblem(other, 404, "member_not_found");
    expect(Object.keys(problem).sort()).toEqual(["code", "detail", "request_id", "status", "title", "type"]);
    expect(other.body).not.toContain(theirs.shop.id);
    expect(other.body).not.toContain(theirMember.created_at);

    const stillTheirs = await t().app.inject({
      method: "GET",
      url: `/v1/members/${theirMember.id}`,
      headers: bearer(theirs.secretKey),
    });
    expect(stillTheirs.json()).toEqual(theirMember);
  });

  it("refuses unknown fields, malformed JSON and non-objects, and creates nothing", async () => {
    const { shop, secretKey } = await createShop(t());
    const unknown = await t().app.inject({
      method: "POST",
      url: "/v1/members",
      headers: bearer(secretKey),
      payload: { email: "ada@example.com", status: "guest" },
    });
    const problem = expectProblem(unknown, 400, "validation_failed");
    expect((problem.errors as Array<{ pointer: string }>).map((error) => error.pointer).sort()).toEqual([
      "/body/email",
      "/body/status",
    ]);

    const malformed = await t().app.inject({
      method: "POST",
      url: "/v1/members",
      headers: { ...bearer(secretKey), "content-type": "application/json" },
      payload: '{"email": ',
    });
    expectProblem(malformed, 400, "malformed_json");

    for (const payload of ["[]", "null", "7"]) {
      const response = await t().app.inject({
        method: "POST",
        url: "/v1/members",
        headers: { ...bearer(secretKey), "content-type": "application/json" },
        payload,
      });
      expectProblem(response, 400, "validation_failed");
    }

    const tooLong = await t().app.inject({
      method: "GET",
      url: `/v1/members/mem_${"A".repeat(61)}`,
      headers: bearer(secretKey),
    });
    expectProblem(tooLong, 400, "validation_failed");

    expect(await memberIds(shop.id)).toEqual([]);
    const events = await t().database.db.selectFrom("outbox").select("id").where("shop_id", "=", shop.id).execute();
    expect(events).toEqual([]);
  });

  it("refuses publishable keys", async () => {
    const { shop, publishableKey } = await createShop(t());
    const response = await t().app.inject({ method: "POST", url: "/v1/members", headers: bearer(publishableKey) });
    expectProblem(response, 403, "secret_key_required");
    expect(await memberIds(shop.id)).toEqual([]);
  });
});
