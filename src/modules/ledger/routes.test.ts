import type { LightMyRequestResponse } from "fastify";
import { expect, it } from "vitest";
import {
  bearer,
  createShop,
  describeEachDialect,
  type TestApp,
  type TestShop,
  useTestApp,
} from "../../../test/support/app.js";
import { withTransaction } from "../../platform/db/transaction.js";
import { creditPoints } from "./index.js";

type Response = LightMyRequestResponse;
type Json = Record<string, unknown>;
type Payload = object | string;

const minute = 60_000;
const day = 24 * 60 * minute;

/** Requests as an API client makes them, and the database rows a test compares before and after. */
function harness(t: () => TestApp) {
  function get(key: string, url: string): Promise<Response> {
    return t().app.inject({ method: "GET", url, headers: bearer(key) });
  }

  /** A POST; `payload` undefined sends no body at all (no content-type either). */
  function post(key: string, url: string, payload?: Payload, headers: Record<string, string> = {}): Promise<Response> {
    return t().app.inject({
      method: "POST",
      url,
      headers: { ...bearer(key), ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
  }

  /** POSTs raw text as JSON (malformed bodies, `null`). */
  function postRaw(key: string, url: string, text: string): Promise<Response> {
    return t().app.inject({
      method: "POST",
      url,
      headers: { ...bearer(key), "content-type": "application/json" },
      payload: text,
    });
  }

  async function ok(response: Promise<Response>, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as Json;
  }

  async function newMember(key: string): Promise<string> {
    const body = await ok(post(key, "/v1/members"), 201);
    return body.id as string;
  }

  function adjust(key: string, memberId: string, amount: number, extra: Json = {}): Promise<Json> {
    return ok(post(key, `/v1/members/${memberId}/points/adjustments`, { amount, reason: "Test", ...extra }), 201);
  }

  function reserve(key: string, memberId: string, amount: number, extra: Json = {}): Promise<Json> {
    return ok(post(key, `/v1/members/${memberId}/points/reservations`, { amount, ...extra }), 201);
  }

  function points(key: string, memberId: string): Promise<Json> {
    return ok(get(key, `/v1/members/${memberId}/points`), 200);
  }

  /** Pending points can only come from the service today (earning rules will post them). */
  async function pendingCredit(shop: TestShop, memberId: string, amount: number, reference: string): Promise<string> {
    const result = await withTransaction(t().database, (trx) =>
      creditPoints(
        trx,
        {
          shopId: shop.shop.id,
          memberId,
          type: "earn",
          amount,
          pending: true,
          reason: "Order paid",
          reference,
          actor: { type: "system", id: null },
        },
        t().clock.now(),
      ),
    );
    return result.transaction.id;
  }

  /** Everything a ledger command can change in one shop, minus bookkeeping (lock versions, updated_at). */
  async function stateOf(shopId: string) {
    const db = t().database.db;
    return {
      members: await db
        .selectFrom("members")
        .select(["id", "status"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
      accounts: await db
        .selectFrom("point_accounts")
        .select([
          "member_id",
          "available",
          "pending",
          "reserved",
          "lifetime_earned",
          "lifetime_spent",
          "lifetime_expired",
          "next_due_at",
        ])
        .where("shop_id", "=", shopId)
        .orderBy("member_id")
        .execute(),
      transactions: await db
        .selectFrom("ledger_transactions")
        .select(["id", "type", "amount", "reversed_amount"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
      entries: await db
        .selectFrom("ledger_entries")
        .select(["transaction_id", "line", "amount"])
        .where("shop_id", "=", shopId)
        .orderBy("transaction_id")
        .orderBy("line")
        .execute(),
      lots: await db
        .selectFrom("ledger_lots")
        .select(["id", "state", "remaining", "expires_at"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
      movements: await db
        .selectFrom("ledger_lot_movements")
        .select(["transaction_id", "seq", "amount"])
        .where("shop_id", "=", shopId)
        .orderBy("transaction_id")
        .orderBy("seq")
        .execute(),
      reservations: await db
        .selectFrom("point_reservations")
        .select(["id", "status", "committed_amount", "commit_transaction_id", "release_transaction_id"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
      outbox: await db
        .selectFrom("outbox")
        .select(["id", "type"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute(),
    };
  }

  async function transactionCount(shopId: string): Promise<number> {
    return (await stateOf(shopId)).transactions.length;
  }

  return { get, post, postRaw, ok, newMember, adjust, reserve, points, pendingCredit, stateOf, transactionCount };
}

function expectProblem(response: Response, status: number, code: string): Json {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json() as Json;
  expect(problem).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
  expect(typeof problem.title).toBe("string");
  expect(typeof problem.detail).toBe("string");
  expect(problem.request_id).toBe(response.headers["x-request-id"]);
  return problem;
}

/** The distinct fields a problem names (a union may report one field more than once). */
function pointersOf(problem: Json): string[] {
  return [...new Set(((problem.errors ?? []) as Array<{ pointer: string }>).map((error) => error.pointer))].sort();
}

function at(time: Date, offsetMs: number): string {
  return new Date(time.getTime() + offsetMs).toISOString();
}

/** The same instant written with a +02:00 offset, as a client in Europe might send it. */
function withPlusTwo(iso: string): string {
  return new Date(new Date(iso).getTime() + 2 * 60 * minute).toISOString().replace("Z", "+02:00");
}

function ids(page: Json): string[] {
  return (page.data as Array<{ id: string }>).map((item) => item.id);
}

describeEachDialect("points API", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("credits lots with an expiry and debits the soonest-expiring points first", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const now = t().clock.now();
    const in60Days = at(now, 60 * day);
    const in10Days = at(now, 10 * day);

    const credit = await h.adjust(key, member, 500, {
      reason: "Welcome gift",
      reference: "ticket-1",
      expires_at: withPlusTwo(in60Days),
      metadata: { agent: "ana", note: { nested: true } },
    });
    expect(credit).toEqual({
      object: "points_result",
      transaction: {
        id: expect.stringMatching(/^txn_[0-9A-Z]{26}$/),
        object: "points_transaction",
        member_id: member,
        type: "adjust",
        amount: 500,
        reason: "Welcome gift",
        reference: "ticket-1",
        actor: { type: "api_key", id: shop.secretKeyId },
        metadata: { agent: "ana", note: { nested: true } },
        reverses_transaction_id: null,
        confirms_transaction_id: null,
        reversed_amount: 0,
        reservation_id: null,
        created_at: now.toISOString(),
      },
      balance: {
        member_id: member,
        available: 500,
        pending: 0,
        reserved: 0,
        lifetime_earned: 500,
        lifetime_spent: 0,
        lifetime_expired: 0,
        debt: 0,
      },
    });
    const soon = await h.adjust(key, member, 200, { expires_at: in10Days });
    const forever = await h.adjust(key, member, 100);

    expect(await h.points(key, member)).toEqual({
      object: "points_summary",
      member_id: member,
      available: 800,
      pending: 0,
      reserved: 0,
      lifetime_earned: 800,
      lifetime_spent: 0,
      lifetime_expired: 0,
      debt: 0,
      balance: 800,
      next_expiration: { at: in10Days, points: 200 },
      expiring_within_30_days: 200,
      as_of: now.toISOString(),
    });

    const lots = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
    const transactionIds = [forever, soon, credit].map((result) => (result.transaction as Json).id);
    expect((lots.data as Json[]).map((lot) => lot.transaction_id)).toEqual(transactionIds);
    expect(lots.has_more).toBe(false);
    expect(lots.next_cursor).toBeNull();
    const [foreverLot, soonLot, creditLot] = lots.data as Json[];
    expect(creditLot).toEqual({
      id: expect.stringMatching(/^lot_[0-9A-Z]{26}$/),
      object: "points_lot",
      member_id: member,
      transaction_id: transactionIds[2],
      state: "available",
      amount: 500,
      remaining: 500,
      pending_until: null,
      expires_at: in60Days,
      created_at: now.toISOString(),
    });
    expect(soonLot).toMatchObject({ amount: 200, remaining: 200, expires_at: in10Days });
    expect(foreverLot).toMatchObject({ amount: 100, remaining: 100, expires_at: null });

    const debit = await h.adjust(key, member, -250, { reason: "Goodwill taken back" });
    expect(debit.transaction).toMatchObject({ type: "adjust", amount: 250, reason: "Goodwill taken back" });
    expect(debit.balance).toEqual({
      member_id: member,
      available: 550,
      pending: 0,
      reserved: 0,
      lifetime_earned: 800,
      lifetime_spent: 0,
      lifetime_expired: 0,
      debt: 0,
    });

    const detail = await h.ok(h.get(key, `/v1/points/transactions/${(debit.transaction as Json).id}`), 200);
    expect(detail).toEqual({
      ...(debit.transaction as Json),
      entries: [
        { line: 1, account: "available", member_id: member, amount: -250 },
        { line: 2, account: "adjustments", member_id: null, amount: 250 },
      ],
      lot_movements: [
        { lot_id: soonLot?.id, amount: -200 },
        { lot_id: creditLot?.id, amount: -50 },
      ],
    });
    expect((detail.entries as Array<{ amount: number }>).reduce((sum, entry) => sum + entry.amount, 0)).toBe(0);

    const after = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
    expect((after.data as Json[]).map((lot) => [lot.id, lot.remaining])).toEqual([
      [foreverLot?.id, 100],
      [creditLot?.id, 450],
    ]);
    expect(await h.points(key, member)).toMatchObject({
      available: 550,
      next_expiration: { at: in60Days, points: 450 },
      expiring_within_30_days: 0,
    });
  });

  it("pages through a member's lots", async () => {
    const { secretKey: key } = await createShop(t());
    const member = await h.newMember(key);
    const made: string[] = [];
    for (let index = 1; index <= 5; index++) {
      const credit = await h.adjust(key, member, index * 10);
      made.push((credit.transaction as Json).id as string);
    }
    const seen: string[] = [];
    let url = `/v1/members/${member}/points/lots?limit=2`;
    let pages = 0;
    for (;;) {
      const page = await h.ok(h.get(key, url), 200);
      pages += 1;
      seen.push(...(page.data as Json[]).map((lot) => lot.transaction_id as string));
      expect(page.has_more).toBe(page.next_cursor !== null);
      if (page.next_cursor === null) break;
      url = `/v1/members/${member}/points/lots?limit=2&cursor=${page.next_cursor}`;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());
  });

  it("refuses a debit beyond the available points and changes nothing", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 300);
    await h.reserve(key, member, 100);
    const before = await h.stateOf(shop.shop.id);

    const refused = await h.post(key, `/v1/members/${member}/points/adjustments`, { amount: -201, reason: "Too much" });
    const problem = expectProblem(refused, 422, "insufficient_points");
    expect(pointersOf(problem)).toEqual(["/body/amount"]);
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    expect(await h.points(key, member)).toMatchObject({ available: 200, reserved: 100 });

    await h.adjust(key, member, -200);
    expect(await h.points(key, member)).toMatchObject({ available: 0, reserved: 100 });
  });

  it("lists a member's transactions newest first, by page, type and time", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const times: string[] = [];
    const made: string[] = [];
    const step = async (make: () => Promise<string>) => {
      t().clock.advance(minute);
      times.push(t().clock.now().toISOString());
      made.push(await make());
    };
    const idOf = (result: Json) => (result.transaction as Json).id as string;
    await step(async () => {
      const result = await withTransaction(t().database, (trx) =>
        creditPoints(
          trx,
          { shopId: shop.shop.id, memberId: member, type: "earn", amount: 1000, actor: { type: "system", id: null } },
          t().clock.now(),
        ),
      );
      return result.transaction.id;
    });
    await step(async () => idOf(await h.adjust(key, member, 100)));
    await step(async () => idOf(await h.adjust(key, member, -50)));
    let reservationId = "";
    await step(async () => {
      const reserved = await h.reserve(key, member, 200);
      reservationId = (reserved.reservation as Json).id as string;
      return idOf(reserved);
    });
    await step(async () => idOf(await h.ok(h.post(key, `/v1/points/reservations/${reservationId}/release`), 200)));
    await step(async () => idOf(await h.adjust(key, member, 30)));
    const [earn, credit, debit, reserveTxn, release, lastCredit] = made;

    const list = (query: string) => h.ok(h.get(key, `/v1/members/${member}/points/transactions?${query}`), 200);
    const seen: string[] = [];
    const createdAt: string[] = [];
    let query = "limit=2";
    let pages = 0;
    for (;;) {
      const page = await list(query);
      pages += 1;
      expect((page.data as Json[]).length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      createdAt.push(...(page.data as Json[]).map((item) => item.created_at as string));
      expect(page.has_more).toBe(page.next_cursor !== null);
      if (page.next_cursor === null) break;
      query = `limit=2&cursor=${page.next_cursor}`;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([lastCredit, release, reserveTxn, debit, credit, earn]);
    expect(createdAt).toEqual([...times].reverse());

    expect(ids(await list("type=earn,adjust"))).toEqual([lastCredit, debit, credit, earn]);
    expect(ids(await list("type=release"))).toEqual([release]);
    const firstPage = await list("type=earn,adjust&limit=3");
    expect(ids(firstPage)).toEqual([lastCredit, debit, credit]);
    expect(firstPage.has_more).toBe(true);
    const secondPage = await list(`type=earn,adjust&limit=3&cursor=${firstPage.next_cursor}`);
    expect(ids(secondPage)).toEqual([earn]);
    expect(secondPage.has_more).toBe(false);

    // created_from is inclusive, created_to exclusive.
    const range = `created_from=${encodeURIComponent(times[1] as string)}&created_to=${encodeURIComponent(times[4] as string)}`;
    expect(ids(await list(range))).toEqual([reserveTxn, debit, credit]);
    expect(ids(await list(`type=adjust&created_from=${encodeURIComponent(times[2] as string)}`))).toEqual([
      lastCredit,
      debit,
    ]);
    expect(ids(await list(`created_to=${encodeURIComponent(times[0] as string)}`))).toEqual([]);

    for (const bad of ["type=earn,bogus", "type=", "created_from=yesterday", "limit=0", "limit=101", "colour=red"]) {
      const response = await h.get(key, `/v1/members/${member}/points/transactions?${bad}`);
      const problem = expectProblem(response, 400, "validation_failed");
      expect(pointersOf(problem)[0], bad).toMatch(/^\/querystring/);
    }
    expectProblem(
      await h.get(key, `/v1/members/${member}/points/transactions?cursor=bm90LWEtY3Vyc29y`),
      400,
      "invalid_cursor",
    );
  });

  it("answers 404 for a member or transaction that does not exist", async () => {
    const { secretKey: key } = await createShop(t());
    const missing = "mem_01JD3M8Q6V9KX2T4R7B5N0CZHF";
    for (const url of [
      `/v1/members/${missing}/points`,
      `/v1/members/${missing}/points/transactions`,
      `/v1/members/${missing}/points/lots`,
      `/v1/members/${missing}/points/reservations`,
    ]) {
      expectProblem(await h.get(key, url), 404, "member_not_found");
    }
    expectProblem(
      await h.get(key, "/v1/points/transactions/txn_01JD3M8Q6V9KX2T4R7B5N0CZHF"),
      404,
      "transaction_not_found",
    );
    expectProblem(
      await h.get(key, "/v1/points/reservations/res_01JD3M8Q6V9KX2T4R7B5N0CZHF"),
      404,
      "reservation_not_found",
    );
    expectProblem(
      await h.post(key, `/v1/members/${missing}/points/adjustments`, { amount: 5, reason: "x" }),
      404,
      "member_not_found",
    );
  });

  it("reverses a credit in part, then the rest, and refuses a third time", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const credit = await h.adjust(key, member, 1000, { expires_at: at(t().clock.now(), 90 * day) });
    const creditId = (credit.transaction as Json).id as string;
    const lots = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
    const lotId = (lots.data as Json[])[0]?.id;

    t().clock.advance(minute);
    const partial = await h.ok(
      h.post(key, `/v1/points/transactions/${creditId}/reverse`, { amount: 300, reason: "Order partly refunded" }),
      201,
    );
    expect(partial.transaction).toMatchObject({
      type: "reverse",
      amount: 300,
      reason: "Order partly refunded",
      reverses_transaction_id: creditId,
      reversed_amount: 0,
      created_at: t().clock.now().toISOString(),
    });
    expect(partial.balance).toMatchObject({ available: 700, lifetime_earned: 700 });
    const detail = await h.ok(h.get(key, `/v1/points/transactions/${(partial.transaction as Json).id}`), 200);
    expect(detail.entries).toEqual([
      { line: 1, account: "reversals", member_id: null, amount: 300 },
      { line: 2, account: "available", member_id: member, amount: -300 },
    ]);
    expect(detail.lot_movements).toEqual([{ lot_id: lotId, amount: -300 }]);
    expect(await h.ok(h.get(key, `/v1/points/transactions/${creditId}`), 200)).toMatchObject({
      reversed_amount: 300,
    });

    // No body at all reverses whatever is left.
    const rest = await h.ok(h.post(key, `/v1/points/transactions/${creditId}/reverse`), 201);
    expect(rest.transaction).toMatchObject({ type: "reverse", amount: 700, reverses_transaction_id: creditId });
    expect(rest.balance).toMatchObject({ available: 0, lifetime_earned: 0 });

    const before = await h.stateOf(shop.shop.id);
    expectProblem(await h.post(key, `/v1/points/transactions/${creditId}/reverse`), 409, "already_reversed");
    expectProblem(
      await h.post(key, `/v1/points/transactions/${creditId}/reverse`, { amount: 1 }),
      409,
      "already_reversed",
    );
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    expect(await h.ok(h.get(key, `/v1/points/transactions/${creditId}`), 200)).toMatchObject({
      reversed_amount: 1000,
    });
  });

  it("refuses to reverse more than is left, and changes nothing", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const creditId = ((await h.adjust(key, member, 500)).transaction as Json).id as string;
    const url = `/v1/points/transactions/${creditId}/reverse`;

    let before = await h.stateOf(shop.shop.id);
    const tooMuch = expectProblem(await h.post(key, url, { amount: 501 }), 422, "invalid_field_value");
    expect(pointersOf(tooMuch)).toEqual(["/body/amount"]);
    expect(await h.stateOf(shop.shop.id)).toEqual(before);

    await h.ok(h.post(key, url, { amount: 200 }), 201);
    before = await h.stateOf(shop.shop.id);
    expectProblem(await h.post(key, url, { amount: 301 }), 422, "invalid_field_value");
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    const last = await h.ok(h.post(key, url, { amount: 300 }), 201);
    expect(last.balance).toMatchObject({ available: 0 });
  });

  it("will not take back credited points that were already spent", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const creditId = ((await h.adjust(key, member, 100)).transaction as Json).id as string;
    await h.adjust(key, member, -80);
    const before = await h.stateOf(shop.shop.id);
    expectProblem(await h.post(key, `/v1/points/transactions/${creditId}/reverse`), 422, "insufficient_points");
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    const partial = await h.ok(h.post(key, `/v1/points/transactions/${creditId}/reverse`, { amount: 20 }), 201);
    expect(partial.balance).toMatchObject({ available: 0, lifetime_earned: 80 });
  });

  it("reversing a debit returns the points to the lots they came from", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const now = t().clock.now();
    const sooner = at(now, 20 * day);
    const later = at(now, 40 * day);
    const firstCredit = await h.adjust(key, member, 100, { expires_at: sooner });
    const secondCredit = await h.adjust(key, member, 100, { expires_at: later });
    const lotOf = async (credit: Json) => {
      const lots = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
      return (lots.data as Json[]).find((lot) => lot.transaction_id === (credit.transaction as Json).id);
    };
    const soonerLot = (await lotOf(firstCredit))?.id;
    const laterLot = (await lotOf(secondCredit))?.id;
    const debit = await h.adjust(key, member, -150);
    const debitId = (debit.transaction as Json).id as string;

    const reversed = await h.ok(h.post(key, `/v1/points/transactions/${debitId}/reverse`, { amount: 60 }), 201);
    expect(reversed.balance).toMatchObject({ available: 110 });
    const detail = await h.ok(h.get(key, `/v1/points/transactions/${(reversed.transaction as Json).id}`), 200);
    expect(detail.entries).toEqual([
      { line: 1, account: "reversals", member_id: null, amount: -60 },
      { line: 2, account: "available", member_id: member, amount: 60 },
    ]);
    // Given back in the reverse of the order they were drawn: the later lot first, with its expiry.
    expect(detail.lot_movements).toEqual([
      { lot_id: laterLot, amount: 50 },
      { lot_id: soonerLot, amount: 10 },
    ]);
    expect(await lotOf(firstCredit)).toMatchObject({ remaining: 10, expires_at: sooner });
    expect(await lotOf(secondCredit)).toMatchObject({ remaining: 100, expires_at: later });
  });

  it("refuses to reverse a transaction that is not a credit or a spend", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 100);
    const reserved = await h.reserve(key, member, 40);
    const before = await h.stateOf(shop.shop.id);
    expectProblem(
      await h.post(key, `/v1/points/transactions/${(reserved.transaction as Json).id}/reverse`),
      422,
      "transaction_not_reversible",
    );
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("confirms pending points, and refuses what is not pending", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const creditId = ((await h.adjust(key, member, 100)).transaction as Json).id as string;
    let before = await h.stateOf(shop.shop.id);
    expectProblem(await h.post(key, `/v1/points/transactions/${creditId}/confirm`), 409, "not_pending");
    expect(await h.stateOf(shop.shop.id)).toEqual(before);

    const pendingId = await h.pendingCredit(shop, member, 200, "order_1001");
    expect(await h.points(key, member)).toMatchObject({ available: 100, pending: 200, lifetime_earned: 100 });
    const lots = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
    expect((lots.data as Json[])[0]).toMatchObject({ transaction_id: pendingId, state: "pending", remaining: 200 });

    t().clock.advance(minute);
    const confirmed = await h.ok(h.post(key, `/v1/points/transactions/${pendingId}/confirm`), 201);
    expect(confirmed.transaction).toMatchObject({
      type: "confirm",
      amount: 200,
      reference: "order_1001",
      actor: { type: "api_key", id: shop.secretKeyId },
      created_at: t().clock.now().toISOString(),
    });
    expect(confirmed.balance).toMatchObject({ available: 300, pending: 0, lifetime_earned: 300 });

    before = await h.stateOf(shop.shop.id);
    expectProblem(await h.post(key, `/v1/points/transactions/${pendingId}/confirm`), 409, "not_pending");
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("reserves points for 15 minutes by default and commits them all", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 1000);
    const now = t().clock.now();

    const reserved = await h.reserve(key, member, 300, { reference: "cart_1" });
    const reservation = reserved.reservation as Json;
    const reserveTxn = reserved.transaction as Json;
    expect(reservation).toEqual({
      id: expect.stringMatching(/^res_[0-9A-Z]{26}$/),
      object: "points_reservation",
      member_id: member,
      amount: 300,
      status: "active",
      reference: "cart_1",
      expires_at: at(now, 15 * minute),
      reserve_transaction_id: reserveTxn.id,
      commit_transaction_id: null,
      release_transaction_id: null,
      committed_amount: 0,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    });
    expect(reserveTxn).toMatchObject({ type: "reserve", amount: 300, reservation_id: reservation.id });
    expect(reserved.balance).toMatchObject({ available: 700, reserved: 300 });
    expect(await h.points(key, member)).toMatchObject({ available: 700, reserved: 300 });

    expect(await h.ok(h.get(key, `/v1/points/reservations/${reservation.id}`), 200)).toEqual(reservation);
    const listUrl = `/v1/members/${member}/points/reservations`;
    expect(ids(await h.ok(h.get(key, `${listUrl}?status=active`), 200))).toEqual([reservation.id]);
    expect(ids(await h.ok(h.get(key, `${listUrl}?status=committed`), 200))).toEqual([]);

    t().clock.advance(minute);
    const committedResponse = await h.post(key, `/v1/points/reservations/${reservation.id}/commit`);
    expect(committedResponse.statusCode, committedResponse.body).toBe(200);
    expect(committedResponse.headers["idempotent-replayed"]).toBeUndefined();
    const committed = committedResponse.json() as Json;
    const redeem = committed.transaction as Json;
    expect(redeem).toMatchObject({ type: "redeem", amount: 300, reservation_id: reservation.id });
    expect(committed.reservation).toEqual({
      ...reservation,
      status: "committed",
      committed_amount: 300,
      commit_transaction_id: redeem.id,
      updated_at: t().clock.now().toISOString(),
    });
    expect(committed.balance).toMatchObject({ available: 700, reserved: 0, lifetime_spent: 300 });
    const detail = await h.ok(h.get(key, `/v1/points/transactions/${redeem.id}`), 200);
    expect(detail.entries).toEqual([
      { line: 1, account: "reserved", member_id: member, amount: -300 },
      { line: 2, account: "redeemed", member_id: null, amount: 300 },
    ]);
    expect(detail.lot_movements).toEqual([]);

    const before = await h.stateOf(shop.shop.id);
    const again = await h.post(key, `/v1/points/reservations/${reservation.id}/commit`);
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(committed);
    expectProblem(
      await h.post(key, `/v1/points/reservations/${reservation.id}/commit`, { amount: 100 }),
      409,
      "reservation_not_active",
    );
    expectProblem(
      await h.post(key, `/v1/points/reservations/${reservation.id}/release`),
      409,
      "reservation_not_active",
    );
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    expect(ids(await h.ok(h.get(key, `${listUrl}?status=committed`), 200))).toEqual([reservation.id]);
    expect(ids(await h.ok(h.get(key, `${listUrl}?status=active`), 200))).toEqual([]);
  });

  it("commits part of a reservation and releases the rest", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 1000);
    const reservation = (await h.reserve(key, member, 400)).reservation as Json;
    const url = `/v1/points/reservations/${reservation.id}/commit`;

    const committed = await h.ok(h.post(key, url, { amount: 150, reference: "order_7" }), 200);
    expect(committed.transaction).toMatchObject({ type: "redeem", amount: 150, reference: "order_7" });
    expect(committed.reservation).toMatchObject({ status: "committed", amount: 400, committed_amount: 150 });
    expect(committed.balance).toMatchObject({ available: 850, reserved: 0, lifetime_spent: 150 });
    const lots = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
    expect((lots.data as Json[]).map((lot) => lot.remaining)).toEqual([850]);

    const before = await h.stateOf(shop.shop.id);
    const again = await h.ok(h.post(key, url, { amount: 150, reference: "order_7" }), 200);
    expect((again.transaction as Json).id).toBe((committed.transaction as Json).id);
    expect(await h.stateOf(shop.shop.id)).toEqual(before);

    const other = (await h.reserve(key, member, 100)).reservation as Json;
    const beforeTooMuch = await h.stateOf(shop.shop.id);
    const problem = expectProblem(
      await h.post(key, `/v1/points/reservations/${other.id}/commit`, { amount: 101 }),
      422,
      "invalid_field_value",
    );
    expect(pointersOf(problem)).toEqual(["/body/amount"]);
    expect(await h.stateOf(shop.shop.id)).toEqual(beforeTooMuch);
    expect(await h.ok(h.get(key, `/v1/points/reservations/${other.id}`), 200)).toMatchObject({ status: "active" });
  });

  it("releases a reservation, twice without harm, and will not commit it afterwards", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 500);
    const reservation = (await h.reserve(key, member, 200)).reservation as Json;
    const url = `/v1/points/reservations/${reservation.id}/release`;

    t().clock.advance(minute);
    const released = await h.ok(h.post(key, url), 200);
    const releaseTxn = released.transaction as Json;
    expect(releaseTxn).toMatchObject({ type: "release", amount: 200, reservation_id: reservation.id });
    expect(released.reservation).toEqual({
      ...reservation,
      status: "released",
      release_transaction_id: releaseTxn.id,
      updated_at: t().clock.now().toISOString(),
    });
    expect(released.balance).toMatchObject({ available: 500, reserved: 0, lifetime_spent: 0 });

    const before = await h.stateOf(shop.shop.id);
    const again = await h.post(key, url);
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(released);
    expectProblem(await h.post(key, `/v1/points/reservations/${reservation.id}/commit`), 409, "reservation_not_active");
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    const list = await h.ok(h.get(key, `/v1/members/${member}/points/reservations?status=released`), 200);
    expect(ids(list)).toEqual([reservation.id]);
  });

  it("refuses to reserve more than is available", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 100);
    const before = await h.stateOf(shop.shop.id);
    expectProblem(
      await h.post(key, `/v1/members/${member}/points/reservations`, { amount: 101 }),
      422,
      "insufficient_points",
    );
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("lets a reservation expire when the clock passes its expiry", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 500);
    const start = t().clock.now();
    const reserved = await h.reserve(key, member, 200, { expires_in_seconds: 120, reference: "cart_9" });
    const reservation = reserved.reservation as Json;
    expect(reservation.expires_at).toBe(at(start, 120_000));

    t().clock.advance(119_000);
    expect(await h.points(key, member)).toMatchObject({ available: 300, reserved: 200 });
    expect(await h.ok(h.get(key, `/v1/points/reservations/${reservation.id}`), 200)).toMatchObject({
      status: "active",
    });

    t().clock.advance(1000);
    expectProblem(await h.post(key, `/v1/points/reservations/${reservation.id}/commit`), 409, "reservation_not_active");
    expect(await h.points(key, member)).toMatchObject({ available: 500, reserved: 0 });
    const expired = await h.ok(h.get(key, `/v1/points/reservations/${reservation.id}`), 200);
    expect(expired).toMatchObject({ status: "expired", committed_amount: 0, commit_transaction_id: null });
    expect(expired.release_transaction_id).toMatch(/^txn_/);
    const history = await h.ok(h.get(key, `/v1/members/${member}/points/transactions?limit=1`), 200);
    expect((history.data as Json[])[0]).toMatchObject({
      id: expired.release_transaction_id,
      type: "release",
      amount: 200,
      reason: "Reservation expired",
      reference: "cart_9",
      actor: { type: "system", id: null },
      reservation_id: reservation.id,
      created_at: t().clock.now().toISOString(),
    });
    const list = `/v1/members/${member}/points/reservations`;
    expect(ids(await h.ok(h.get(key, `${list}?status=expired`), 200))).toEqual([reservation.id]);
    expect(ids(await h.ok(h.get(key, `${list}?status=active`), 200))).toEqual([]);

    // Releasing an expired reservation answers with the release that expired it.
    const release = await h.ok(h.post(key, `/v1/points/reservations/${reservation.id}/release`), 200);
    expect((release.transaction as Json).id).toBe(expired.release_transaction_id);
    expect(release.balance).toMatchObject({ available: 500, reserved: 0 });
  });

  it("reads a lapsed reservation as expired before anything else has touched the account", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 500);
    const reservation = (await h.reserve(key, member, 200, { expires_in_seconds: 60 })).reservation as Json;
    t().clock.advance(60_000);
    const read = await h.ok(h.get(key, `/v1/points/reservations/${reservation.id}`), 200);
    expect(read.status).toBe("expired");
    const active = await h.ok(h.get(key, `/v1/members/${member}/points/reservations?status=active`), 200);
    expect(ids(active)).toEqual([]);
  });

  it("does not list a lot past its expiry before anything else has touched the account", async () => {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    await h.adjust(key, member, 300, { expires_at: at(t().clock.now(), day) });
    const lasting = await h.adjust(key, member, 100);
    t().clock.advance(day);
    const lots = await h.ok(h.get(key, `/v1/members/${member}/points/lots`), 200);
    expect((lots.data as Json[]).map((lot) => lot.transaction_id)).toEqual([(lasting.transaction as Json).id]);
    const history = await h.ok(h.get(key, `/v1/members/${member}/points/transactions?type=expire`), 200);
    expect((history.data as Json[]).map((item) => item.amount)).toEqual([300]);
  });
});

describeEachDialect("points API idempotency", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  /**
   * Sends one command three times with the same Idempotency-Key: the first runs; the second is
   * replayed by the HTTP layer; the third, after the HTTP layer's record is deleted, is answered
   * by the ledger from the key it stored on its transaction. Only the first changes anything.
   */
  async function expectIdempotent(shop: TestShop, url: string, payload?: Payload): Promise<Json> {
    const key = `key-${url}-${JSON.stringify(payload ?? null)}`.replace(/[^\x21-\x7e]/g, "_").slice(0, 255);
    const headers = { "idempotency-key": key };
    const before = await h.transactionCount(shop.shop.id);
    const first = await h.post(shop.secretKey, url, payload, headers);
    expect(first.statusCode, first.body).toBeLessThan(300);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(await h.transactionCount(shop.shop.id)).toBe(before + 1);
    const body = first.json() as Json;
    const transaction = body.transaction as Json;
    const stored = await t()
      .database.db.selectFrom("ledger_transactions")
      .select("idempotency_key")
      .where("shop_id", "=", shop.shop.id)
      .where("id", "=", transaction.id as string)
      .executeTakeFirstOrThrow();
    // The ledger keeps its own copy of the key (prefixed, so keys from other sources cannot collide).
    expect(stored.idempotency_key?.startsWith("http:")).toBe(true);
    expect(stored.idempotency_key?.endsWith(key)).toBe(true);
    const after = await h.stateOf(shop.shop.id);

    const replay = await h.post(shop.secretKey, url, payload, headers);
    expect(replay.statusCode).toBe(first.statusCode);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toBe(first.body);
    expect(await h.stateOf(shop.shop.id)).toEqual(after);

    const deleted = await t()
      .database.db.deleteFrom("idempotency_keys")
      .where("shop_id", "=", shop.shop.id)
      .where("idempotency_key", "=", key)
      .executeTakeFirst();
    expect(Number(deleted.numDeletedRows)).toBe(1);
    const retry = await h.post(shop.secretKey, url, payload, headers);
    expect(retry.statusCode, retry.body).toBe(first.statusCode);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(body);
    expect(await h.stateOf(shop.shop.id)).toEqual(after);
    return body;
  }

  it("replays adjustments, credit and debit", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    const url = `/v1/members/${member}/points/adjustments`;
    const credit = await expectIdempotent(shop, url, {
      amount: 500,
      reason: "Gift",
      expires_at: at(t().clock.now(), 30 * day),
    });
    expect(credit.balance).toMatchObject({ available: 500 });
    const debit = await expectIdempotent(shop, url, { amount: -120, reason: "Correction" });
    expect(debit.balance).toMatchObject({ available: 380 });
    expect(await h.points(shop.secretKey, member)).toMatchObject({ available: 380, lifetime_earned: 500 });
  });

  it("replays a reversal", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    const creditId = ((await h.adjust(shop.secretKey, member, 300)).transaction as Json).id;
    const url = `/v1/points/transactions/${creditId}/reverse`;
    const reversed = await expectIdempotent(shop, url, { amount: 100 });
    expect(reversed.balance).toMatchObject({ available: 200 });
    const rest = await expectIdempotent(shop, url);
    expect(rest.transaction).toMatchObject({ amount: 200 });
    expect(await h.points(shop.secretKey, member)).toMatchObject({ available: 0 });
  });

  it("replays a confirmation", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    const pendingId = await h.pendingCredit(shop, member, 250, "order_1");
    const confirmed = await expectIdempotent(shop, `/v1/points/transactions/${pendingId}/confirm`);
    expect(confirmed.balance).toMatchObject({ available: 250, pending: 0 });
  });

  it("replays a reservation, its commit and a release", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    await h.adjust(shop.secretKey, member, 1000);
    const url = `/v1/members/${member}/points/reservations`;
    const reserved = await expectIdempotent(shop, url, { amount: 300, reference: "cart_1" });
    expect(reserved.balance).toMatchObject({ available: 700, reserved: 300 });
    const committed = await expectIdempotent(
      shop,
      `/v1/points/reservations/${(reserved.reservation as Json).id}/commit`,
    );
    expect(committed.balance).toMatchObject({ available: 700, reserved: 0, lifetime_spent: 300 });

    const second = await expectIdempotent(shop, url, { amount: 200, reference: "cart_2" });
    const released = await expectIdempotent(shop, `/v1/points/reservations/${(second.reservation as Json).id}/release`);
    expect(released.balance).toMatchObject({ available: 700, reserved: 0 });
    expect(await h.points(shop.secretKey, member)).toMatchObject({ available: 700, reserved: 0, lifetime_spent: 300 });
  });

  it("refuses the same key for a different request, before and after the HTTP record is lost", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    const url = `/v1/members/${member}/points/adjustments`;
    const headers = { "idempotency-key": "order-77" };
    await h.ok(h.post(shop.secretKey, url, { amount: 100, reason: "Gift" }, headers), 201);
    const before = await h.stateOf(shop.shop.id);
    expectProblem(
      await h.post(shop.secretKey, url, { amount: 200, reason: "Gift" }, headers),
      409,
      "idempotency_key_reused",
    );
    await t()
      .database.db.deleteFrom("idempotency_keys")
      .where("shop_id", "=", shop.shop.id)
      .where("idempotency_key", "=", "order-77")
      .execute();
    expectProblem(
      await h.post(shop.secretKey, url, { amount: 200, reason: "Gift" }, headers),
      409,
      "idempotency_key_reused",
    );
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("after the HTTP record is lost, treats a key used on another route as a new change there", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    const headers = { "idempotency-key": "used-once" };
    const forgetKey = () =>
      t()
        .database.db.deleteFrom("idempotency_keys")
        .where("shop_id", "=", shop.shop.id)
        .where("idempotency_key", "=", "used-once")
        .execute();
    await h.ok(
      h.post(shop.secretKey, `/v1/members/${member}/points/adjustments`, { amount: 500, reason: "Gift" }, headers),
      201,
    );
    const first = (await h.reserve(shop.secretKey, member, 100)).reservation as Json;
    const second = (await h.reserve(shop.secretKey, member, 100)).reservation as Json;

    await forgetKey();
    const committed = await h.post(shop.secretKey, `/v1/points/reservations/${first.id}/commit`, undefined, headers);
    expect(committed.statusCode, committed.body).toBe(200);
    expect(committed.headers["idempotent-replayed"]).toBeUndefined();
    expect(committed.json().transaction).toMatchObject({ type: "redeem", amount: 100, reservation_id: first.id });

    await forgetKey();
    const released = await h.post(shop.secretKey, `/v1/points/reservations/${second.id}/release`, undefined, headers);
    expect(released.statusCode, released.body).toBe(200);
    expect(released.headers["idempotent-replayed"]).toBeUndefined();
    expect(released.json().transaction).toMatchObject({ type: "release", amount: 100, reservation_id: second.id });
    expect(await h.points(shop.secretKey, member)).toMatchObject({
      available: 400,
      reserved: 0,
      lifetime_spent: 100,
    });
  });

  it("never answers the confirmation of one transaction with the confirmation of another", async () => {
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    const firstId = await h.pendingCredit(shop, member, 100, "order_1");
    const secondId = await h.pendingCredit(shop, member, 200, "order_2");
    const headers = { "idempotency-key": "confirm-it" };
    const first = await h.ok(
      h.post(shop.secretKey, `/v1/points/transactions/${firstId}/confirm`, undefined, headers),
      201,
    );
    await t()
      .database.db.deleteFrom("idempotency_keys")
      .where("shop_id", "=", shop.shop.id)
      .where("idempotency_key", "=", "confirm-it")
      .execute();
    const second = await h.post(shop.secretKey, `/v1/points/transactions/${secondId}/confirm`, undefined, headers);
    expect(second.statusCode, second.body).toBe(201);
    expect(second.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.json().transaction).toMatchObject({ type: "confirm", amount: 200, reference: "order_2" });
    expect(second.json().transaction.id).not.toBe((first.transaction as Json).id);
    expect(await h.points(shop.secretKey, member)).toMatchObject({ available: 300, pending: 0 });
  });

  it("keeps each shop's idempotency keys apart", async () => {
    const first = await createShop(t());
    const second = await createShop(t());
    const firstMember = await h.newMember(first.secretKey);
    const secondMember = await h.newMember(second.secretKey);
    const headers = { "idempotency-key": "order-1001" };
    const payload = { amount: 100, reason: "Order 1001" };
    const a = await h.post(first.secretKey, `/v1/members/${firstMember}/points/adjustments`, payload, headers);
    const b = await h.post(second.secretKey, `/v1/members/${secondMember}/points/adjustments`, payload, headers);
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers["idempotent-replayed"]).toBeUndefined();
    expect((b.json().transaction as Json).id).not.toBe((a.json().transaction as Json).id);
    expect(await h.points(second.secretKey, secondMember)).toMatchObject({ available: 100 });
    expect(await h.points(first.secretKey, firstMember)).toMatchObject({ available: 100 });
  });
});

describeEachDialect("points API tenant isolation", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  async function shopWithHistory() {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const credit = await h.adjust(key, member, 1000, { expires_at: at(t().clock.now(), 60 * day) });
    const reservation = (await h.reserve(key, member, 100)).reservation as Json;
    const pendingId = await h.pendingCredit(shop, member, 50, "order_9");
    return {
      shop,
      member,
      creditId: (credit.transaction as Json).id as string,
      reservationId: reservation.id as string,
      pendingId,
    };
  }

  /** Every member-, transaction- and reservation-scoped route, aimed at the given ids. */
  function routesFor(ids: { member: string; creditId: string; pendingId: string; reservationId: string }) {
    const { member, creditId, pendingId, reservationId } = ids;
    return [
      { method: "GET", url: `/v1/members/${member}`, code: "member_not_found" },
      { method: "GET", url: `/v1/members/${member}/points`, code: "member_not_found" },
      { method: "GET", url: `/v1/members/${member}/points/transactions`, code: "member_not_found" },
      { method: "GET", url: `/v1/members/${member}/points/lots`, code: "member_not_found" },
      { method: "GET", url: `/v1/members/${member}/points/reservations`, code: "member_not_found" },
      {
        method: "POST",
        url: `/v1/members/${member}/points/adjustments`,
        payload: { amount: 5, reason: "x" },
        code: "member_not_found",
      },
      {
        method: "POST",
        url: `/v1/members/${member}/points/adjustments`,
        payload: { amount: -5, reason: "x" },
        code: "member_not_found",
      },
      {
        method: "POST",
        url: `/v1/members/${member}/points/reservations`,
        payload: { amount: 5 },
        code: "member_not_found",
      },
      { method: "GET", url: `/v1/points/transactions/${creditId}`, code: "transaction_not_found" },
      { method: "POST", url: `/v1/points/transactions/${creditId}/reverse`, code: "transaction_not_found" },
      {
        method: "POST",
        url: `/v1/points/transactions/${creditId}/reverse`,
        payload: { amount: 1 },
        code: "transaction_not_found",
      },
      { method: "POST", url: `/v1/points/transactions/${pendingId}/confirm`, code: "transaction_not_found" },
      { method: "GET", url: `/v1/points/reservations/${reservationId}`, code: "reservation_not_found" },
      { method: "POST", url: `/v1/points/reservations/${reservationId}/commit`, code: "reservation_not_found" },
      {
        method: "POST",
        url: `/v1/points/reservations/${reservationId}/commit`,
        payload: { amount: 10 },
        code: "reservation_not_found",
      },
      { method: "POST", url: `/v1/points/reservations/${reservationId}/release`, code: "reservation_not_found" },
    ] as const satisfies ReadonlyArray<{ method: "GET" | "POST"; url: string; payload?: Json; code: string }>;
  }

  async function viewsOf(key: string, a: Awaited<ReturnType<typeof shopWithHistory>>) {
    return {
      member: await h.ok(h.get(key, `/v1/members/${a.member}`), 200),
      points: await h.ok(h.get(key, `/v1/members/${a.member}/points`), 200),
      transactions: await h.ok(h.get(key, `/v1/members/${a.member}/points/transactions`), 200),
      lots: await h.ok(h.get(key, `/v1/members/${a.member}/points/lots`), 200),
      reservations: await h.ok(h.get(key, `/v1/members/${a.member}/points/reservations`), 200),
      credit: await h.ok(h.get(key, `/v1/points/transactions/${a.creditId}`), 200),
      reservation: await h.ok(h.get(key, `/v1/points/reservations/${a.reservationId}`), 200),
      liability: await h.ok(h.get(key, "/v1/reports/points-liability"), 200),
    };
  }

  it("answers another shop's ids with 404 on every route and leaves them untouched", async () => {
    const a = await shopWithHistory();
    const b = await shopWithHistory();
    const stateBefore = await h.stateOf(a.shop.shop.id);
    const viewsBefore = await viewsOf(a.shop.secretKey, a);

    for (const [index, route] of routesFor(a).entries()) {
      for (const headers of [{}, { "idempotency-key": `probe-${index}` }] as Array<Record<string, string>>) {
        const response =
          route.method === "GET"
            ? await h.get(b.shop.secretKey, route.url)
            : await h.post(b.shop.secretKey, route.url, "payload" in route ? route.payload : undefined, headers);
        const label = `${route.method} ${route.url} ${JSON.stringify(headers)}`;
        expect(response.statusCode, label).toBe(404);
        const problem = expectProblem(response, 404, route.code);
        expect(Object.keys(problem).sort(), label).toEqual(["code", "detail", "request_id", "status", "title", "type"]);
        expect(response.body, label).not.toContain(a.shop.shop.id);
      }
    }

    expect(await h.stateOf(a.shop.shop.id)).toEqual(stateBefore);
    expect(await viewsOf(a.shop.secretKey, a)).toEqual(viewsBefore);
    // B's own view is its own: the same history, none of A's ids.
    const bViews = await viewsOf(b.shop.secretKey, b);
    expect(JSON.stringify(bViews)).not.toContain(a.member);
    expect(JSON.stringify(bViews)).not.toContain(a.creditId);
    expect(bViews.liability).toMatchObject({ available: 900, pending: 50, reserved: 100, outstanding: 1050 });
  });

  it("refuses publishable keys on every points and member route", async () => {
    const a = await shopWithHistory();
    const stateBefore = await h.stateOf(a.shop.shop.id);
    const routes = [
      ...routesFor(a).map((route) => ({ method: route.method, url: route.url })),
      { method: "POST" as const, url: "/v1/members" },
      { method: "GET" as const, url: "/v1/reports/points-liability" },
    ];
    for (const route of routes) {
      const response =
        route.method === "GET"
          ? await h.get(a.shop.publishableKey, route.url)
          : await h.post(a.shop.publishableKey, route.url, {});
      expectProblem(response, 403, "secret_key_required");
    }
    expect(await h.stateOf(a.shop.shop.id)).toEqual(stateBefore);
  });

  it("asks for a key on every points route", async () => {
    const a = await shopWithHistory();
    for (const route of routesFor(a)) {
      const response = await t().app.inject({ method: route.method, url: route.url });
      expectProblem(response, 401, "missing_api_key");
    }
  });
});

describeEachDialect("points API bad input", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  async function setUp() {
    const shop = await createShop(t());
    const key = shop.secretKey;
    const member = await h.newMember(key);
    const creditId = ((await h.adjust(key, member, 1000)).transaction as Json).id as string;
    const reservationId = ((await h.reserve(key, member, 100)).reservation as Json).id as string;
    const pendingId = await h.pendingCredit(shop, member, 50, "order_3");
    return {
      shop,
      key,
      member,
      urls: {
        adjustments: `/v1/members/${member}/points/adjustments`,
        reserve: `/v1/members/${member}/points/reservations`,
        reverse: `/v1/points/transactions/${creditId}/reverse`,
        confirm: `/v1/points/transactions/${pendingId}/confirm`,
        commit: `/v1/points/reservations/${reservationId}/commit`,
        release: `/v1/points/reservations/${reservationId}/release`,
      },
    };
  }

  it("answers malformed JSON, JSON that is not an object, and oversized bodies, and writes nothing", async () => {
    const { shop, key, urls } = await setUp();
    const before = await h.stateOf(shop.shop.id);
    for (const url of Object.values(urls)) {
      expectProblem(await h.postRaw(key, url, '{"amount": '), 400, "malformed_json");
      expectProblem(await h.postRaw(key, url, ""), 400, "malformed_json");
      for (const text of ["[]", "42", '"text"', "null"]) {
        expectProblem(await h.postRaw(key, url, text), 400, "validation_failed");
      }
      expectProblem(await h.post(key, url, { reason: "x".repeat(2_000_000) }), 413, "payload_too_large");
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("refuses wrong types and unknown fields, naming each", async () => {
    const { shop, key, urls } = await setUp();
    const before = await h.stateOf(shop.shop.id);
    const cases: Array<[string, Json, string[]]> = [
      [urls.adjustments, { amount: "100", reason: "x" }, ["/body/amount"]],
      [urls.adjustments, { amount: 100, reason: 5 }, ["/body/reason"]],
      [urls.adjustments, { amount: 100, reason: "x", expires_at: "next week" }, ["/body/expires_at"]],
      [urls.adjustments, { amount: 100, reason: "x", metadata: "note" }, ["/body/metadata"]],
      [urls.adjustments, { amount: 100, reason: "x", reference: 17 }, ["/body/reference"]],
      [urls.adjustments, { amount: 100, reason: "x", points: 5 }, ["/body/points"]],
      [urls.adjustments, { amount: "1", reason: 2, colour: "red" }, ["/body/amount", "/body/colour", "/body/reason"]],
      [urls.reserve, { amount: "100" }, ["/body/amount"]],
      [urls.reserve, { amount: 10, expires_in_seconds: "60" }, ["/body/expires_in_seconds"]],
      [urls.reserve, { amount: 10, expires_in_seconds: 0 }, ["/body/expires_in_seconds"]],
      [urls.reserve, { amount: 10, expires_in_seconds: 7 * 24 * 3600 + 1 }, ["/body/expires_in_seconds"]],
      [urls.reserve, { amount: 10, currency: "USD" }, ["/body/currency"]],
      [urls.reserve, {}, ["/body/amount"]],
      [urls.reverse, { amount: "5" }, ["/body/amount"]],
      [urls.reverse, { force: true }, ["/body/force"]],
      [urls.confirm, { reference: 1 }, ["/body/reference"]],
      [urls.confirm, { note: "x" }, ["/body/note"]],
      [urls.commit, { amount: true }, ["/body/amount"]],
      [urls.commit, { order: "x" }, ["/body/order"]],
      [urls.release, { reason: 7 }, ["/body/reason"]],
      [urls.release, { amount: 10 }, ["/body/amount"]],
    ];
    for (const [url, payload, pointers] of cases) {
      const problem = expectProblem(await h.post(key, url, payload), 400, "validation_failed");
      expect(pointersOf(problem), `${url} ${JSON.stringify(payload)}`).toEqual(pointers);
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("refuses amounts that are zero, fractional or too large", async () => {
    const { shop, key, urls } = await setUp();
    const before = await h.stateOf(shop.shop.id);
    const bad = [0, 1.5, -2.5, 1e12 + 1, -1e12 - 1, 1e300];
    for (const amount of bad) {
      const problem = expectProblem(
        await h.post(key, urls.adjustments, { amount, reason: "x" }),
        400,
        "validation_failed",
      );
      expect(pointersOf(problem), String(amount)).toEqual(["/body/amount"]);
    }
    for (const url of [urls.reserve, urls.reverse, urls.commit]) {
      for (const amount of [0, -1, 1.5, 1e12 + 1]) {
        const problem = expectProblem(await h.post(key, url, { amount }), 400, "validation_failed");
        expect(pointersOf(problem), `${url} ${amount}`).toEqual(["/body/amount"]);
      }
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("requires a reason on adjustments", async () => {
    const { shop, key, urls } = await setUp();
    const before = await h.stateOf(shop.shop.id);
    for (const payload of [{ amount: 10 }, { amount: 10, reason: "" }, { amount: -10, reason: "x".repeat(501) }]) {
      const problem = expectProblem(await h.post(key, urls.adjustments, payload), 400, "validation_failed");
      expect(pointersOf(problem)).toEqual(["/body/reason"]);
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("refuses metadata over 4 KB or with too many keys on every command", async () => {
    const { shop, key, urls } = await setUp();
    const before = await h.stateOf(shop.shop.id);
    const big = { note: "x".repeat(4100) };
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`k${index}`, index]));
    const bodies: Record<keyof typeof urls, Json> = {
      adjustments: { amount: 10, reason: "x" },
      reserve: { amount: 10 },
      reverse: { amount: 10 },
      confirm: {},
      commit: {},
      release: {},
    };
    for (const [name, url] of Object.entries(urls) as Array<[keyof typeof urls, string]>) {
      const oversized = expectProblem(
        await h.post(key, url, { ...bodies[name], metadata: big }),
        422,
        "invalid_field_value",
      );
      expect(pointersOf(oversized), name).toEqual(["/body/metadata"]);
      const crowded = expectProblem(
        await h.post(key, url, { ...bodies[name], metadata: many }),
        400,
        "validation_failed",
      );
      expect(pointersOf(crowded), name).toEqual(["/body/metadata"]);
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
    // Just under the limit is fine.
    const fits = { note: "x".repeat(4096 - JSON.stringify({ note: "" }).length) };
    const accepted = await h.ok(h.post(key, urls.adjustments, { amount: 10, reason: "x", metadata: fits }), 201);
    expect((accepted.transaction as Json).metadata).toEqual(fits);
  });

  it("refuses an expiry that is not in the future, or on a debit", async () => {
    const { shop, key, urls } = await setUp();
    const before = await h.stateOf(shop.shop.id);
    const now = t().clock.now();
    for (const expiresAt of [at(now, -1000), now.toISOString(), "2001-01-01T00:00:00Z"]) {
      const problem = expectProblem(
        await h.post(key, urls.adjustments, { amount: 10, reason: "x", expires_at: expiresAt }),
        422,
        "invalid_field_value",
      );
      expect(pointersOf(problem), expiresAt).toEqual(["/body/expires_at"]);
    }
    for (const expiresAt of [at(now, day), null]) {
      const problem = expectProblem(
        await h.post(key, urls.adjustments, { amount: -10, reason: "x", expires_at: expiresAt }),
        422,
        "invalid_field_value",
      );
      expect(pointersOf(problem)).toEqual(["/body/expires_at"]);
    }
    expect(await h.stateOf(shop.shop.id)).toEqual(before);
  });

  it("accepts commands with no body at all", async () => {
    const { key, member, urls } = await setUp();
    expect((await h.ok(h.post(key, urls.confirm), 201)).balance).toMatchObject({ available: 950, pending: 0 });
    expect((await h.ok(h.post(key, urls.commit), 200)).reservation).toMatchObject({ status: "committed" });
    const other = (await h.reserve(key, member, 10)).reservation as Json;
    expect((await h.ok(h.post(key, `/v1/points/reservations/${other.id}/release`), 200)).reservation).toMatchObject({
      status: "released",
    });
    const small = ((await h.adjust(key, member, 40)).transaction as Json).id;
    const reversed = await h.ok(h.post(key, `/v1/points/transactions/${small}/reverse`), 201);
    expect(reversed.transaction).toMatchObject({ type: "reverse", amount: 40, reverses_transaction_id: small });
    expect(reversed.balance).toMatchObject({ available: 950 });
  });

  it("refuses ids and query strings out of shape", async () => {
    const { key, member } = await setUp();
    const long = `mem_${"A".repeat(61)}`;
    for (const url of [
      `/v1/members/${long}/points`,
      `/v1/points/transactions/${long}`,
      `/v1/points/reservations/${long}`,
    ]) {
      const problem = expectProblem(await h.get(key, url), 400, "validation_failed");
      expect(pointersOf(problem)).toEqual(["/params/id"]);
    }
    for (const query of ["status=gone", "limit=abc", "colour=red"]) {
      const response = await h.get(key, `/v1/members/${member}/points/reservations?${query}`);
      expect(pointersOf(expectProblem(response, 400, "validation_failed"))[0]).toMatch(/^\/querystring/);
    }
    expectProblem(await h.get(key, `/v1/members/${member}/points/lots?cursor=bm9wZQ`), 400, "invalid_cursor");
  });
});

describeEachDialect("points liability report", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("values KWD points at 100 points = 1.000 KWD, by expiry month in the shop's time zone", async () => {
    t().clock.set("2026-03-10T00:00:00.000Z");
    const shop = await createShop(t(), { baseCurrency: "KWD", timezone: "Asia/Kuwait" });
    const key = shop.secretKey;
    const first = await h.newMember(key);
    const second = await h.newMember(key);
    // 2026-03-31T22:00Z is 1 April 01:00 in Kuwait (UTC+3): an April expiry there, March in UTC.
    await h.adjust(key, first, 1000, { expires_at: "2026-03-31T22:00:00Z" });
    await h.adjust(key, first, 500, { expires_at: "2026-03-12T00:00:00Z" });
    await h.adjust(key, first, 250);
    await h.adjust(key, second, 2000, { expires_at: "2026-06-15T00:00:00Z" });
    await h.reserve(key, second, 300, { expires_in_seconds: 7 * 24 * 3600 });
    await h.adjust(key, first, -100);
    const money = (amount: number) => ({ amount, currency: "KWD" });

    const report = await h.ok(h.get(key, "/v1/reports/points-liability"), 200);
    expect(report).toEqual({
      object: "points_liability",
      as_of: "2026-03-10T00:00:00.000Z",
      currency: "KWD",
      rate: { points: 100, amount: 1000 },
      available: 3350,
      pending: 0,
      reserved: 300,
      outstanding: 3650,
      value: money(36_500),
      awaiting_expiry: 0,
      by_expiry_month: [
        { month: "2026-03", points: 400, value: money(4000) },
        { month: "2026-04", points: 1000, value: money(10_000) },
        { month: "2026-06", points: 1700, value: money(17_000) },
        { month: null, points: 250, value: money(2500) },
      ],
    });

    // Past the March expiry but before anything settles it: not owed, awaiting expiry.
    t().clock.set("2026-03-13T00:00:00.000Z");
    const unsettled = await h.ok(h.get(key, "/v1/reports/points-liability"), 200);
    expect(unsettled).toMatchObject({
      as_of: "2026-03-13T00:00:00.000Z",
      available: 2950,
      reserved: 300,
      outstanding: 3250,
      value: money(32_500),
      awaiting_expiry: 400,
      by_expiry_month: [
        { month: "2026-04", points: 1000, value: money(10_000) },
        { month: "2026-06", points: 1700, value: money(17_000) },
        { month: null, points: 250, value: money(2500) },
      ],
    });
    expect(await h.points(key, first)).toMatchObject({ available: 1250, lifetime_expired: 400 });
    const settled = await h.ok(h.get(key, "/v1/reports/points-liability"), 200);
    expect(settled).toEqual({ ...unsettled, awaiting_expiry: 0 });
  });

  it("values JPY points one to one, then at the shop's own rate, rounding half up", async () => {
    t().clock.set("2026-03-20T00:00:00.000Z");
    const shop = await createShop(t(), { baseCurrency: "JPY", timezone: "Asia/Tokyo" });
    const key = shop.secretKey;
    const member = await h.newMember(key);
    // 2026-04-30T16:00Z is 1 May 01:00 in Tokyo (UTC+9).
    await h.adjust(key, member, 1234, { expires_at: "2026-04-30T16:00:00Z" });
    await h.adjust(key, member, 66);
    const yen = (amount: number) => ({ amount, currency: "JPY" });

    expect(await h.ok(h.get(key, "/v1/reports/points-liability"), 200)).toEqual({
      object: "points_liability",
      as_of: "2026-03-20T00:00:00.000Z",
      currency: "JPY",
      rate: { points: 1, amount: 1 },
      available: 1300,
      pending: 0,
      reserved: 0,
      outstanding: 1300,
      value: yen(1300),
      awaiting_expiry: 0,
      by_expiry_month: [
        { month: "2026-05", points: 1234, value: yen(1234) },
        { month: null, points: 66, value: yen(66) },
      ],
    });

    await h.ok(
      t().app.inject({
        method: "PATCH",
        url: "/v1/shop",
        headers: bearer(key),
        payload: { redemption_rate: { points: 10, amount: 3 } },
      }),
      200,
    );
    // 1300 × 3/10 = 390; 1234 × 3/10 = 370.2 → 370; 66 × 3/10 = 19.8 → 20.
    expect(await h.ok(h.get(key, "/v1/reports/points-liability"), 200)).toMatchObject({
      rate: { points: 10, amount: 3 },
      value: yen(390),
      by_expiry_month: [
        { month: "2026-05", points: 1234, value: yen(370) },
        { month: null, points: 66, value: yen(20) },
      ],
    });
    await h.adjust(key, member, -1295);
    // 5 × 3/10 = 1.5 → 2.
    expect(await h.ok(h.get(key, "/v1/reports/points-liability"), 200)).toMatchObject({
      available: 5,
      value: yen(2),
    });
  });

  it("counts pending points and reports an empty shop as zero", async () => {
    t().clock.set("2026-04-01T00:00:00.000Z");
    const empty = await createShop(t());
    expect(await h.ok(h.get(empty.secretKey, "/v1/reports/points-liability"), 200)).toEqual({
      object: "points_liability",
      as_of: "2026-04-01T00:00:00.000Z",
      currency: "USD",
      rate: { points: 100, amount: 100 },
      available: 0,
      pending: 0,
      reserved: 0,
      outstanding: 0,
      value: { amount: 0, currency: "USD" },
      awaiting_expiry: 0,
      by_expiry_month: [],
    });
    const shop = await createShop(t());
    const member = await h.newMember(shop.secretKey);
    await h.pendingCredit(shop, member, 75, "order_5");
    await h.adjust(shop.secretKey, member, 25);
    expect(await h.ok(h.get(shop.secretKey, "/v1/reports/points-liability"), 200)).toMatchObject({
      available: 25,
      pending: 75,
      outstanding: 100,
      value: { amount: 100, currency: "USD" },
      by_expiry_month: [{ month: null, points: 100, value: { amount: 100, currency: "USD" } }],
    });
  });
});
