import type { LightMyRequestResponse } from "fastify";
import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestApp, useTestApp } from "../../../test/support/app.js";
import { withTransaction } from "../../platform/db/transaction.js";
import { creditPoints, verifyLedger } from "../ledger/index.js";

type Response = LightMyRequestResponse;
type Json = Record<string, unknown>;

const minute = 60_000;
const day = 24 * 60 * minute;

function harness(t: () => TestApp) {
  function request(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", key: string, url: string, payload?: object) {
    return t().app.inject({ method, url, headers: bearer(key), ...(payload === undefined ? {} : { payload }) });
  }

  async function ok(response: Promise<Response>, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as Json;
  }

  async function newMember(key: string, body: Json = {}): Promise<string> {
    return (await ok(request("POST", key, "/v1/members", body), 201)).id as string;
  }

  function merge(key: string, survivorId: string, duplicateId: string): Promise<Response> {
    return request("POST", key, `/v1/members/${survivorId}/merge`, { duplicate_id: duplicateId });
  }

  function adjust(key: string, memberId: string, amount: number, extra: Json = {}): Promise<Json> {
    return ok(
      request("POST", key, `/v1/members/${memberId}/points/adjustments`, { amount, reason: "Test", ...extra }),
      201,
    );
  }

  function consent(key: string, memberId: string, purpose: string, granted: boolean, channel = "web"): Promise<Json> {
    return ok(
      request("POST", key, `/v1/members/${memberId}/consents`, {
        changes: [{ purpose, granted, channel, source: "test_form" }],
      }),
      201,
    );
  }

  function timeline(key: string, memberId: string, query = ""): Promise<Json> {
    return ok(request("GET", key, `/v1/members/${memberId}/timeline${query}`), 200);
  }

  /** Every row a merge can touch in one shop, minus lock bookkeeping. */
  async function stateOf(shopId: string) {
    const db = t().database.db;
    const rows = <T extends keyof typeof tables>(table: T) => tables[table](shopId);
    const tables = {
      members: (shop: string) =>
        db.selectFrom("members").selectAll().where("shop_id", "=", shop).orderBy("id").execute(),
      identifiers: (shop: string) =>
        db
          .selectFrom("member_identifiers")
          .selectAll()
          .where("shop_id", "=", shop)
          .orderBy("kind")
          .orderBy("value")
          .execute(),
      consents: (shop: string) =>
        db.selectFrom("member_consents").selectAll().where("shop_id", "=", shop).orderBy("id").execute(),
      accounts: (shop: string) =>
        db
          .selectFrom("point_accounts")
          .select(["member_id", "available", "pending", "reserved", "lifetime_earned", "lifetime_spent"])
          .where("shop_id", "=", shop)
          .orderBy("member_id")
          .execute(),
      lots: (shop: string) =>
        db
          .selectFrom("ledger_lots")
          .select(["id", "member_id", "remaining"])
          .where("shop_id", "=", shop)
          .orderBy("id")
          .execute(),
      transactions: (shop: string) =>
        db.selectFrom("ledger_transactions").select(["id"]).where("shop_id", "=", shop).orderBy("id").execute(),
      outbox: (shop: string) =>
        db.selectFrom("outbox").select(["id", "type"]).where("shop_id", "=", shop).orderBy("id").execute(),
    };
    return {
      members: await rows("members"),
      identifiers: await rows("identifiers"),
      consents: await rows("consents"),
      accounts: await rows("accounts"),
      lots: await rows("lots"),
      transactions: await rows("transactions"),
      outbox: await rows("outbox"),
    };
  }

  return { request, ok, newMember, merge, adjust, consent, timeline, stateOf };
}

function expectProblem(response: Response, status: number, code: string): Json {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json() as Json;
  expect(problem).toMatchObject({ status, code });
  return problem;
}

function after(t: () => TestApp, offsetMs: number): string {
  return new Date(t().clock.now().getTime() + offsetMs).toISOString();
}

describeEachDialect("member merge", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("moves every point with its lots, expiry, pending date and lifetime totals, and the ledger stays clean", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const survivor = await h.newMember(key);
    const duplicate = await h.newMember(key);
    const in30Days = after(t, 30 * day);
    const in90Days = after(t, 90 * day);
    const in200Days = after(t, 200 * day);
    const pendingUntil = after(t, 14 * day);

    await h.adjust(key, survivor, 100, { expires_at: in30Days });
    await h.adjust(key, duplicate, 300, { expires_at: in90Days });
    await h.adjust(key, duplicate, 200);
    await h.adjust(key, duplicate, 80, { expires_at: in200Days });
    await h.adjust(key, duplicate, -50);
    // Spend through a reservation so lifetime_spent moves too.
    const reservation = await h.ok(
      h.request("POST", key, `/v1/members/${duplicate}/points/reservations`, { amount: 30 }),
      201,
    );
    await h.ok(
      h.request("POST", key, `/v1/points/reservations/${(reservation.reservation as Json).id}/commit`, {}),
      200,
    );
    await withTransaction(t().database, (trx) =>
      creditPoints(
        trx,
        {
          shopId: shop.shop.id,
          memberId: duplicate,
          type: "earn",
          amount: 40,
          pending: true,
          pendingUntil,
          reason: "Order paid",
          reference: "order-1",
          actor: { type: "system", id: null },
        },
        t().clock.now(),
      ),
    );
    const survivorBefore = await h.ok(h.request("GET", key, `/v1/members/${survivor}/points`), 200);
    const duplicateBefore = await h.ok(h.request("GET", key, `/v1/members/${duplicate}/points`), 200);
    const lotsBefore = await h.ok(h.request("GET", key, `/v1/members/${duplicate}/points/lots`), 200);
    expect(duplicateBefore).toMatchObject({ available: 500, pending: 40, reserved: 0, lifetime_spent: 30 });

    const merged = await h.ok(h.merge(key, survivor, duplicate), 200);
    expect(merged).toMatchObject({ id: survivor, object: "member", merged_into_member_id: null });

    const survivorAfter = await h.ok(h.request("GET", key, `/v1/members/${survivor}/points`), 200);
    for (const field of ["available", "pending", "reserved", "lifetime_earned", "lifetime_spent", "lifetime_expired"]) {
      expect(survivorAfter[field], field).toBe((survivorBefore[field] as number) + (duplicateBefore[field] as number));
    }
    expect(survivorAfter).toMatchObject({ available: 600, pending: 40 });
    // The duplicate keeps its own lifetime totals (its history stays with it) but holds nothing.
    expect(await h.ok(h.request("GET", key, `/v1/members/${duplicate}/points`), 200)).toMatchObject({
      available: 0,
      pending: 0,
      reserved: 0,
      lifetime_earned: duplicateBefore.lifetime_earned,
      lifetime_spent: duplicateBefore.lifetime_spent,
    });

    const shape = (lot: Json) => ({
      state: lot.state,
      remaining: lot.remaining,
      expires_at: lot.expires_at,
      pending_until: lot.pending_until,
    });
    const sort = (lots: Json[]) => lots.map(shape).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const survivorLots = await h.ok(h.request("GET", key, `/v1/members/${survivor}/points/lots`), 200);
    expect(sort(survivorLots.data as Json[])).toEqual(
      sort([
        ...(lotsBefore.data as Json[]),
        { state: "available", remaining: 100, expires_at: in30Days, pending_until: null },
      ]),
    );
    expect(sort(lotsBefore.data as Json[])).toEqual(
      sort([
        { state: "available", remaining: 220, expires_at: in90Days, pending_until: null },
        { state: "available", remaining: 200, expires_at: null, pending_until: null },
        { state: "available", remaining: 80, expires_at: in200Days, pending_until: null },
        { state: "pending", remaining: 40, expires_at: null, pending_until: pendingUntil },
      ]),
    );
    expect((await h.ok(h.request("GET", key, `/v1/members/${duplicate}/points/lots`), 200)).data).toEqual([]);

    // The transfer is on the duplicate's history, names the survivor and references the duplicate.
    const history = await h.ok(h.request("GET", key, `/v1/members/${duplicate}/points/transactions?limit=1`), 200);
    const transfer = (history.data as Json[])[0] as Json;
    expect(transfer).toMatchObject({
      type: "transfer",
      amount: 540,
      reason: `Merged member ${duplicate} into ${survivor}`,
      reference: duplicate,
      actor: { type: "api_key", id: shop.secretKeyId },
    });

    const event = await t()
      .database.db.selectFrom("outbox")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .where("type", "=", "member.merged")
      .executeTakeFirstOrThrow();
    expect(event.subject_id).toBe(survivor);
    expect(JSON.parse(event.payload).data).toMatchObject({
      survivor_id: survivor,
      duplicate_id: duplicate,
      points_moved: 540,
      points_transaction_id: transfer.id,
      member: { id: survivor, object: "member" },
    });
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  });

  it("moves identifiers, fills profile gaps from the duplicate and cancels the duplicate", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    for (const [attribute, type] of [
      ["shoe_size", "string"],
      ["vip", "boolean"],
    ]) {
      await h.ok(h.request("PUT", key, `/v1/member-attributes/${attribute}`, { type, label: attribute }), 200);
    }
    const duplicate = await h.newMember(key, {
      status: "active",
      identifiers: [
        { kind: "email", value: "Ana.Old@Example.com" },
        { kind: "shopify", value: "7012345678901" },
      ],
      given_name: "Anna",
      family_name: "Silva",
      name_order: "given_first",
      birthday: { month: 4, day: 12, year: 1990 },
      locale: "pt-BR",
      country: "BR",
      attributes: { shoe_size: "39", vip: true },
      marketing_preferences: { topics: ["bags"], frequency: "weekly" },
    });
    const duplicateRow = await h.ok(h.request("GET", key, `/v1/members/${duplicate}`), 200);
    expect(duplicateRow.profile_completed_at).not.toBeNull();
    t().clock.advance(day);
    const survivor = await h.newMember(key, {
      status: "guest",
      identifiers: [{ kind: "email", value: "ana@example.com" }],
      given_name: "Ana",
      birthday: { month: 4, day: 12 },
      attributes: { shoe_size: "38" },
      marketing_preferences: { topics: ["shoes"] },
    });
    t().clock.advance(minute);

    const merged = await h.ok(h.merge(key, survivor, duplicate), 200);
    expect(merged).toMatchObject({
      id: survivor,
      status: "active",
      email: "ana@example.com",
      given_name: "Ana",
      family_name: "Silva",
      name_order: "given_first",
      birthday: { month: 4, day: 12, year: 1990 },
      locale: "pt-BR",
      country: "BR",
      attributes: { shoe_size: "38", vip: true },
      marketing_preferences: { topics: ["shoes"], frequency: "weekly" },
      joined_at: duplicateRow.joined_at,
      profile_completed_at: duplicateRow.profile_completed_at,
      updated_at: t().clock.now().toISOString(),
    });
    expect((merged.identifiers as Json[]).map((identifier) => `${identifier.kind}:${identifier.value}`).sort()).toEqual(
      ["email:ana.old@example.com", "email:ana@example.com", "shopify:7012345678901"],
    );
    // Moved identifiers count as linked at the merge, so the survivor's own email stays its first.
    expect(
      (merged.identifiers as Json[]).find((identifier) => identifier.value === "ana.old@example.com")?.created_at,
    ).toBe(t().clock.now().toISOString());
    expect(await h.ok(h.request("GET", key, `/v1/members/${survivor}`), 200)).toEqual(merged);

    // Identifiers now find the survivor.
    const found = await h.ok(h.request("PUT", key, "/v1/members/by/email/ana.old%40example.com", {}), 200);
    expect(found.id).toBe(survivor);
    expect((await h.ok(h.request("PUT", key, "/v1/members/by/shopify/7012345678901", {}), 200)).id).toBe(survivor);

    expect(await h.ok(h.request("GET", key, `/v1/members/${duplicate}`), 200)).toMatchObject({
      id: duplicate,
      status: "cancelled",
      merged_into_member_id: survivor,
      identifiers: [],
      given_name: "Anna",
    });
  });

  it("copies the consent history and keeps the latest record per purpose current", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const survivor = await h.newMember(key);
    const duplicate = await h.newMember(key);
    await h.consent(key, duplicate, "email_marketing", false, "email");
    await h.consent(key, survivor, "profiling", false);
    t().clock.advance(minute);
    await h.consent(key, survivor, "email_marketing", true);
    t().clock.advance(minute);
    await h.consent(key, duplicate, "profiling", true, "app");
    await h.consent(key, duplicate, "sms_marketing", true, "sms");
    t().clock.advance(minute);

    await h.ok(h.merge(key, survivor, duplicate), 200);

    const current = await h.ok(h.request("GET", key, `/v1/members/${survivor}/consents`), 200);
    const state = Object.fromEntries(
      (current.purposes as Json[]).map((entry) => [
        entry.purpose,
        entry.latest ? `${entry.granted}:${(entry.latest as Json).channel}` : String(entry.granted),
      ]),
    );
    // The duplicate's older withdrawal of email marketing does not undo the survivor's newer grant.
    expect(state).toEqual({
      email_marketing: "true:web",
      sms_marketing: "true:sms",
      whatsapp_marketing: "false",
      profiling: "true:app",
      data_processing: "false",
    });
    const history = await h.ok(h.request("GET", key, `/v1/members/${survivor}/consents/history`), 200);
    const records = (history.data as Json[]).map((row) => `${row.purpose}:${row.status}:${row.recorded_at}`).sort();
    const duplicateHistory = await h.ok(h.request("GET", key, `/v1/members/${duplicate}/consents/history`), 200);
    expect(duplicateHistory.data).toHaveLength(3);
    expect(records).toHaveLength(5);
    for (const row of duplicateHistory.data as Json[]) {
      expect(records).toContain(`${row.purpose}:${row.status}:${row.recorded_at}`);
    }

    // Receivers hear about the purposes whose current state the merge changed, and only those.
    const events = await t()
      .database.db.selectFrom("outbox")
      .select(["payload"])
      .where("shop_id", "=", shop.shop.id)
      .where("subject_id", "=", survivor)
      .where("type", "=", "consent.updated")
      .orderBy("id")
      .execute();
    const fromMerge = events.map((row) => JSON.parse(row.payload).data).filter((data) => data.merged_from_member_id);
    expect(fromMerge.map((data) => `${data.purpose}:${data.granted}`).sort()).toEqual([
      "profiling:true",
      "sms_marketing:true",
    ]);
  });

  it("completes the profile when the two halves together make it complete, once", async () => {
    const { shop, secretKey: key } = await createShop(t());
    const survivor = await h.newMember(key, {
      identifiers: [{ kind: "email", value: "kim@example.com" }],
      given_name: "Kim",
    });
    const duplicate = await h.newMember(key, { birthday: { month: 7, day: 1 }, country: "KR" });
    const completed = () =>
      t()
        .database.db.selectFrom("outbox")
        .select("subject_id")
        .where("shop_id", "=", shop.id)
        .where("type", "=", "profile.completed")
        .execute();
    expect(await completed()).toEqual([]);
    const merged = await h.ok(h.merge(key, survivor, duplicate), 200);
    expect(merged.profile_completed_at).toBe(t().clock.now().toISOString());
    expect(await completed()).toEqual([{ subject_id: survivor }]);
    await h.ok(h.request("PATCH", key, `/v1/members/${survivor}`, { family_name: "Lee" }), 200);
    expect(await completed()).toHaveLength(1);
  });

  it("returns the survivor unchanged when the same merge is made again", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const survivor = await h.newMember(key);
    const duplicate = await h.newMember(key, { identifiers: [{ kind: "email", value: "dup@example.com" }] });
    await h.adjust(key, duplicate, 70);
    await h.consent(key, duplicate, "email_marketing", true);
    const first = await h.merge(key, survivor, duplicate);
    expect(first.statusCode, first.body).toBe(200);
    const before = await h.stateOf(shop.shop.id);
    t().clock.advance(minute);

    const again = await h.merge(key, survivor, duplicate);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(first.json());
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  });

  it("refuses members that cannot be merged with 409 member_not_mergeable", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const [a, b, c, d, e] = [
      await h.newMember(key),
      await h.newMember(key),
      await h.newMember(key),
      await h.newMember(key),
      await h.newMember(key),
    ] as [string, string, string, string, string];
    await h.ok(h.merge(key, a, b), 200);
    const before = await h.stateOf(shop.shop.id);

    expectProblem(await h.merge(key, c, c), 409, "member_not_mergeable");
    // b is already merged into a: not into another member...
    expectProblem(await h.merge(key, c, b), 409, "member_not_mergeable");
    // ...and a merged member cannot take in others.
    expectProblem(await h.merge(key, b, c), 409, "member_not_mergeable");
    await t()
      .database.db.updateTable("members")
      .set({ status: "erased" })
      .where("shop_id", "=", shop.shop.id)
      .where("id", "=", d)
      .execute();
    expectProblem(await h.merge(key, c, d), 409, "member_not_mergeable");
    expectProblem(await h.merge(key, d, c), 409, "member_not_mergeable");
    await h.ok(h.request("DELETE", key, `/v1/members/${e}`), 200);
    expectProblem(await h.merge(key, e, c), 409, "member_not_mergeable");
    const erasedAndCancelled = await h.stateOf(shop.shop.id);
    expect({ ...erasedAndCancelled, members: [], outbox: [] }).toEqual({ ...before, members: [], outbox: [] });

    expectProblem(await h.merge(key, c, "mem_01JD3M9B2E4W8Y6T0R3K5P7QXA"), 404, "member_not_found");
    expectProblem(await h.merge(key, "mem_01JD3M9B2E4W8Y6T0R3K5P7QXA", c), 404, "member_not_found");
    expectProblem(await h.request("POST", key, `/v1/members/${c}/merge`, {}), 400, "validation_failed");
    expectProblem(
      await h.request("POST", key, `/v1/members/${c}/merge`, { duplicate_id: a, also: true }),
      400,
      "validation_failed",
    );
    expectProblem(
      await h.request("POST", key, `/v1/members/${c}/merge`, { duplicate_id: 42 }),
      400,
      "validation_failed",
    );
  });

  it("refuses a duplicate with active reservations and changes nothing", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const survivor = await h.newMember(key);
    const duplicate = await h.newMember(key, { identifiers: [{ kind: "email", value: "held@example.com" }] });
    await h.adjust(key, duplicate, 100);
    await h.consent(key, duplicate, "email_marketing", true);
    await h.ok(h.request("POST", key, `/v1/members/${duplicate}/points/reservations`, { amount: 30 }), 201);
    const before = await h.stateOf(shop.shop.id);

    expectProblem(await h.merge(key, survivor, duplicate), 409, "reservations_active");
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("settles two opposite merges of the same members one way, without deadlock", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const a = await h.newMember(key);
    const b = await h.newMember(key);
    await h.adjust(key, a, 10);
    await h.adjust(key, b, 20);

    const responses = await Promise.all([h.merge(key, a, b), h.merge(key, b, a)]);
    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 409]);
    const winner = responses.find((response) => response.statusCode === 200)?.json() as Json;
    expect(await h.ok(h.request("GET", key, `/v1/members/${winner.id}/points`), 200)).toMatchObject({
      available: 30,
    });
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  });

  it("keeps shops apart: another shop's members are 404 to merge and to read", async () => {
    const shopA = await createShop(t());
    const shopB = await createShop(t());
    const survivor = await h.newMember(shopA.secretKey);
    const duplicate = await h.newMember(shopA.secretKey);
    const own = await h.newMember(shopB.secretKey);
    const before = await h.stateOf(shopA.shop.id);

    expectProblem(await h.merge(shopB.secretKey, survivor, duplicate), 404, "member_not_found");
    expectProblem(await h.merge(shopB.secretKey, own, duplicate), 404, "member_not_found");
    expectProblem(await h.merge(shopB.secretKey, survivor, own), 404, "member_not_found");
    expectProblem(await h.request("GET", shopB.secretKey, `/v1/members/${survivor}/timeline`), 404, "member_not_found");
    expect(await h.stateOf(shopA.shop.id)).toEqual(before);

    const publishable = await h.request("POST", shopA.publishableKey, `/v1/members/${survivor}/merge`, {
      duplicate_id: duplicate,
    });
    expectProblem(publishable, 403, "secret_key_required");
  });
});

describeEachDialect("member timeline", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("lists a member's events newest first with summaries, pages and type filters", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key, { identifiers: [{ kind: "email", value: "tl@example.com" }] });
    t().clock.advance(minute);
    await h.adjust(key, member, 500, { reason: "Welcome gift" });
    t().clock.advance(minute);
    await h.consent(key, member, "email_marketing", true);
    t().clock.advance(minute);
    await h.ok(h.request("PATCH", key, `/v1/members/${member}`, { given_name: "Lia" }), 200);
    t().clock.advance(minute);
    await h.adjust(key, member, -100, { reason: "Correction" });

    const all = await h.timeline(key, member);
    const items = all.data as Json[];
    expect(items.map((item) => [item.type, item.summary])).toEqual([
      ["points.adjusted", "Debited 100 points by hand: Correction"],
      ["member.updated", "Profile updated: given_name"],
      ["consent.updated", "Consent to email_marketing granted (web)"],
      ["points.adjusted", "Credited 500 points by hand: Welcome gift"],
      ["member.created", "Became a member"],
    ]);
    expect(all).toMatchObject({ has_more: false, next_cursor: null });
    const times = items.map((item) => item.occurred_at as string);
    expect([...times].sort().reverse()).toEqual(times);
    expect(items[0]).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      object: "member_timeline_item",
      member_id: member,
      data: { member_id: member, transaction: { type: "adjust", amount: 100, reason: "Correction" } },
    });
    expect(items[4]?.data).toMatchObject({ member: { id: member, email: "tl@example.com" } });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Json = await h.timeline(key, member, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect((page.data as Json[]).length).toBeLessThanOrEqual(2);
      seen.push(...(page.data as Json[]).map((item) => item.id as string));
      cursor = page.next_cursor as string | null;
      expect(page.has_more).toBe(cursor !== null);
    } while (cursor);
    expect(seen).toEqual(items.map((item) => item.id));

    const pointsOnly = await h.timeline(key, member, "?types=points");
    expect((pointsOnly.data as Json[]).map((item) => item.type)).toEqual(["points.adjusted", "points.adjusted"]);
    const some = await h.timeline(key, member, "?types=consent,member.created");
    expect((some.data as Json[]).map((item) => item.type)).toEqual(["consent.updated", "member.created"]);
    expect((await h.timeline(key, member, "?types=member")).data).toHaveLength(2);
    expect((await h.timeline(key, member, "?types=point")).data).toEqual([]);

    expectProblem(await h.request("GET", key, `/v1/members/${member}/timeline?types=Points`), 400, "validation_failed");
    expectProblem(
      await h.request("GET", key, `/v1/members/${member}/timeline?types=points,`),
      400,
      "validation_failed",
    );
    expectProblem(await h.request("GET", key, `/v1/members/${member}/timeline?kinds=points`), 400, "validation_failed");
    expectProblem(await h.request("GET", key, `/v1/members/${member}/timeline?cursor=abc`), 400, "invalid_cursor");
    expectProblem(
      await h.request("GET", key, "/v1/members/mem_01JD3M9B2E4W8Y6T0R3K5P7QXA/timeline"),
      404,
      "member_not_found",
    );
  });

  it("includes the history of every member merged into this one", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const oldest = await h.newMember(key);
    await h.adjust(key, oldest, 15);
    const duplicate = await h.newMember(key);
    await h.adjust(key, duplicate, 200);
    await h.consent(key, duplicate, "sms_marketing", true, "sms");
    t().clock.advance(minute);
    await h.ok(h.merge(key, duplicate, oldest), 200);
    const survivor = await h.newMember(key);
    t().clock.advance(minute);

    await h.ok(h.merge(key, survivor, duplicate), 200);

    // The member merged into the duplicate now points at the survivor: one level covers all.
    expect((await h.ok(h.request("GET", key, `/v1/members/${oldest}`), 200)).merged_into_member_id).toBe(survivor);
    const items = (await h.timeline(key, survivor, "?limit=100")).data as Json[];
    expect(items.slice(0, 3).map((item) => [item.type, item.member_id, item.summary])).toEqual([
      ["member.merged", survivor, `Merged member ${duplicate} into this member`],
      ["consent.updated", survivor, `Consent to sms_marketing granted (sms), taken over from ${duplicate}`],
      ["points.transferred", duplicate, `Received 215 points from ${duplicate}`],
    ]);
    const owners = new Set(items.map((item) => item.member_id));
    expect(owners).toEqual(new Set([survivor, duplicate, oldest]));
    expect(items.filter((item) => item.type === "member.created").map((item) => item.member_id)).toEqual([
      survivor,
      duplicate,
      oldest,
    ]);
    const ids = items.map((item) => item.id as string);
    expect([...ids].sort().reverse()).toEqual(ids);

    // The duplicate's own timeline shows where its points went.
    const duplicateItems = (await h.timeline(key, duplicate, "?types=points.transferred")).data as Json[];
    expect(duplicateItems.map((item) => item.summary)).toEqual([`Moved 215 points to ${survivor}`]);
  });
});
