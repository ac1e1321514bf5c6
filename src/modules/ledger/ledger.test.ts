import { sql } from "kysely";
import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestShop, useTestApp } from "../../../test/support/app.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { createMember } from "../members/index.js";
import {
  type Actor,
  commitReservation,
  confirmPending,
  creditPoints,
  debitPoints,
  getPointsSummary,
  getReservation,
  getTransactionDetail,
  type LedgerResult,
  listLots,
  listTransactions,
  pointsLiability,
  releaseReservation,
  reservePoints,
  reverseTransaction,
  settleAccount,
  settleDueAccounts,
  transferAccount,
  verifyLedger,
} from "./index.js";

const actor: Actor = { type: "api_key", id: null };
const start = "2026-03-01T12:00:00.000Z";
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

describeEachDialect("points ledger", (dialect) => {
  const t = useTestApp(dialect);
  const now = () => t().clock.now();
  const db = () => t().database.db;
  const tx = <T>(work: (trx: Tx) => Promise<T>) => withTransaction(t().database, work);

  /** A new shop with two members; the clock goes back to the suite's start so dates below are fixed. */
  async function setup(shopInput: Parameters<typeof createShop>[1] = {}) {
    t().clock.set(start);
    const shop = await createShop(t(), shopInput);
    const shopId = shop.shop.id;
    const a = (await tx((trx) => createMember(trx, { shopId }, now()))).id;
    const b = (await tx((trx) => createMember(trx, { shopId }, now()))).id;
    return { shop, shopId, a, b };
  }

  function earn(
    shopId: string,
    memberId: string,
    amount: number,
    extra: Partial<Parameters<typeof creditPoints>[1]> = {},
  ): Promise<LedgerResult> {
    return tx((trx) => creditPoints(trx, { shopId, memberId, type: "earn", amount, actor, ...extra }, now()));
  }

  function spend(shopId: string, memberId: string, amount: number, idempotencyKey?: string): Promise<LedgerResult> {
    return tx((trx) => debitPoints(trx, { shopId, memberId, type: "redeem", amount, actor, idempotencyKey }, now()));
  }

  function reserve(shopId: string, memberId: string, amount: number, expiresInMs = 15 * minute, key?: string) {
    return tx((trx) =>
      reservePoints(
        trx,
        {
          shopId,
          memberId,
          amount,
          actor,
          expiresAt: new Date(now().getTime() + expiresInMs).toISOString(),
          idempotencyKey: key,
        },
        now(),
      ),
    );
  }

  function reverse(shopId: string, transactionId: string, amount?: number, idempotencyKey?: string) {
    return tx((trx) => reverseTransaction(trx, { shopId, transactionId, amount, actor, idempotencyKey }, now()));
  }

  /** The cached balance row as stored, without settling anything. */
  async function account(shopId: string, memberId: string) {
    const row = await db()
      .selectFrom("point_accounts")
      .selectAll()
      .where("shop_id", "=", shopId)
      .where("member_id", "=", memberId)
      .executeTakeFirstOrThrow();
    return {
      available: row.available,
      pending: row.pending,
      reserved: row.reserved,
      lifetimeEarned: row.lifetime_earned,
      lifetimeSpent: row.lifetime_spent,
      lifetimeExpired: row.lifetime_expired,
    };
  }

  /** The error code a command is refused with, or "ok". */
  async function codeOf(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
      return "ok";
    } catch (error) {
      if (error instanceof AppError) return error.code;
      throw error;
    }
  }

  async function expectClean(shopId: string): Promise<void> {
    expect((await verifyLedger(db(), { shopId })).problems).toEqual([]);
  }

  /** The lot a credit created. */
  async function lotOf(shopId: string, transactionId: string): Promise<string> {
    const detail = await getTransactionDetail(db(), shopId, transactionId);
    const lotId = detail.movements[0]?.lot_id;
    if (!lotId) throw new Error(`transaction ${transactionId} made no lot`);
    return lotId;
  }

  async function lotRow(shopId: string, lotId: string) {
    return db()
      .selectFrom("ledger_lots")
      .selectAll()
      .where("shop_id", "=", shopId)
      .where("id", "=", lotId)
      .executeTakeFirstOrThrow();
  }

  async function movementsOf(shopId: string, transactionId: string) {
    const detail = await getTransactionDetail(db(), shopId, transactionId);
    return detail.movements.map((movement) => [movement.lot_id, movement.amount]);
  }

  async function countTransactions(shopId: string): Promise<number> {
    const row = await db()
      .selectFrom("ledger_transactions")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .where("shop_id", "=", shopId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The outbox events whose payload carries this ledger transaction. */
  async function eventsFor(shopId: string, transactionId: string) {
    const rows = await db()
      .selectFrom("outbox")
      .select(["type", "payload"])
      .where("shop_id", "=", shopId)
      .where("type", "like", "points.%")
      .execute();
    return rows.filter(
      (row) =>
        (JSON.parse(row.payload) as { data: { transaction: { id: string } } }).data.transaction.id === transactionId,
    );
  }

  async function typesOf(shopId: string, memberId: string) {
    return (await listTransactions(t().database, shopId, memberId, { limit: 100 }, now())).map((transaction) => [
      transaction.type,
      transaction.amount,
    ]);
  }

  describeConcurrency();
  describeIdempotency();
  describeLots();
  describePending();
  describeReservations();
  describeLiability();
  describeVerify();
  describeTransfer();

  function describeConcurrency() {
    it("lets exactly 33 of 50 concurrent spends of 30 through a balance of 1000", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 1000);
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => codeOf(spend(shopId, a, 30))));
      expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(33);
      expect(outcomes.filter((outcome) => outcome === "insufficient_points")).toHaveLength(17);
      expect(await account(shopId, a)).toMatchObject({ available: 10, lifetimeSpent: 990, lifetimeEarned: 1000 });
      const redeems = await listTransactions(t().database, shopId, a, { limit: 100, types: ["redeem"] }, now());
      expect(redeems).toHaveLength(33);
      await expectClean(shopId);
    });

    it("lets exactly 16 of 20 concurrent reservations of 60 through a balance of 1000", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 1000);
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => codeOf(reserve(shopId, a, 60))));
      expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(16);
      expect(outcomes.filter((outcome) => outcome === "insufficient_points")).toHaveLength(4);
      expect(await account(shopId, a)).toMatchObject({ available: 40, reserved: 960, lifetimeSpent: 0 });
      const active = await db()
        .selectFrom("point_reservations")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("shop_id", "=", shopId)
        .where("status", "=", "active")
        .executeTakeFirstOrThrow();
      expect(Number(active.count)).toBe(16);
      await expectClean(shopId);
    });

    it("lets exactly one of a concurrent commit and release of one reservation win", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 1000);
      const winners: string[] = [];
      for (let round = 0; round < 6; round++) {
        const before = await account(shopId, a);
        const { reservation } = await reserve(shopId, a, 100);
        const commit = tx((trx) =>
          commitReservation(trx, { shopId, reservationId: reservation.id, amount: 60, actor }, now()),
        );
        const release = tx((trx) => releaseReservation(trx, { shopId, reservationId: reservation.id, actor }, now()));
        const [committed, released] = await Promise.all([codeOf(commit), codeOf(release)]);
        expect([committed, released].sort()).toEqual(["ok", "reservation_not_active"]);
        const after = await getReservation(t().database, shopId, reservation.id, now());
        if (committed === "ok") {
          winners.push("commit");
          expect(after).toMatchObject({ status: "committed", committedAmount: 60, releaseTransactionId: null });
          expect(await account(shopId, a)).toMatchObject({
            available: before.available - 60,
            reserved: 0,
            lifetimeSpent: before.lifetimeSpent + 60,
          });
        } else {
          winners.push("release");
          expect(after).toMatchObject({ status: "released", commitTransactionId: null });
          expect(await account(shopId, a)).toMatchObject({
            available: before.available,
            reserved: 0,
            lifetimeSpent: before.lifetimeSpent,
          });
        }
      }
      expect(winners).toHaveLength(6);
      await expectClean(shopId);
    });

    it("turns the second of two concurrent commits into a replay of the first", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 500);
      const { reservation } = await reserve(shopId, a, 200);
      const commit = () => tx((trx) => commitReservation(trx, { shopId, reservationId: reservation.id, actor }, now()));
      const [first, second] = await Promise.all([commit(), commit()]);
      expect([first.replayed, second.replayed].sort()).toEqual([false, true]);
      expect(first.transaction.id).toBe(second.transaction.id);
      expect(await account(shopId, a)).toMatchObject({ available: 300, reserved: 0, lifetimeSpent: 200 });
      expect(await listTransactions(t().database, shopId, a, { limit: 10, types: ["redeem"] }, now())).toHaveLength(1);
      await expectClean(shopId);
    });

    it("runs two opposite transfers at once without a deadlock", async () => {
      const { shopId, a, b } = await setup();
      await earn(shopId, a, 100);
      await earn(shopId, b, 50);
      const results = await Promise.all([
        tx((trx) => transferAccount(trx, { shopId, fromMemberId: a, toMemberId: b, actor }, now())),
        tx((trx) => transferAccount(trx, { shopId, fromMemberId: b, toMemberId: a, actor }, now())),
      ]);
      // Whichever ran first moved its own points; the second moved all 150 back.
      const amounts = results.map((result) => result?.transaction.amount ?? 0).sort((x, y) => x - y);
      expect([
        [50, 150],
        [100, 150],
      ]).toContainEqual(amounts);
      const balances = [(await account(shopId, a)).available, (await account(shopId, b)).available];
      expect(balances.sort((x, y) => x - y)).toEqual([0, 150]);
      await expectClean(shopId);
    });
  }

  function describeIdempotency() {
    it("replays a credit with the same idempotency key and refuses the key for another change", async () => {
      const { shopId, a, b } = await setup();
      const first = await earn(shopId, a, 120, { idempotencyKey: "order:1" });
      const again = await earn(shopId, a, 120, { idempotencyKey: "order:1" });
      expect(first.replayed).toBe(false);
      expect(again.replayed).toBe(true);
      expect(again.transaction.id).toBe(first.transaction.id);
      expect(again.balance).toMatchObject({ available: 120, lifetimeEarned: 120 });
      expect(await countTransactions(shopId)).toBe(1);
      expect(await eventsFor(shopId, first.transaction.id)).toHaveLength(1);

      expect(await codeOf(earn(shopId, a, 121, { idempotencyKey: "order:1" }))).toBe("idempotency_key_reused");
      expect(await codeOf(earn(shopId, b, 120, { idempotencyKey: "order:1" }))).toBe("idempotency_key_reused");
      expect(
        await codeOf(
          tx((trx) =>
            creditPoints(
              trx,
              { shopId, memberId: a, type: "adjust", amount: 120, actor, idempotencyKey: "order:1" },
              now(),
            ),
          ),
        ),
      ).toBe("idempotency_key_reused");
      expect(await codeOf(spend(shopId, a, 120, "order:1"))).toBe("idempotency_key_reused");
      expect(await account(shopId, a)).toMatchObject({ available: 120, lifetimeEarned: 120 });
      expect(await account(shopId, b)).toMatchObject({ available: 0 });
      expect(await countTransactions(shopId)).toBe(1);
      await expectClean(shopId);
    });

    it("replays a debit even when the points it took are no longer there", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 100);
      const first = await spend(shopId, a, 70, "cart:9");
      const again = await spend(shopId, a, 70, "cart:9");
      expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id } });
      expect(again.balance.available).toBe(30);
      expect(await codeOf(spend(shopId, a, 71, "cart:9"))).toBe("idempotency_key_reused");
      expect(await account(shopId, a)).toMatchObject({ available: 30, lifetimeSpent: 70 });
      expect(await listTransactions(t().database, shopId, a, { limit: 10, types: ["redeem"] }, now())).toHaveLength(1);
      expect(await eventsFor(shopId, first.transaction.id)).toHaveLength(1);
      await expectClean(shopId);
    });

    it("replays a reservation with the same reservation", async () => {
      const { shopId, a, b } = await setup();
      await earn(shopId, a, 100);
      await earn(shopId, b, 100);
      const first = await reserve(shopId, a, 40, 15 * minute, "checkout:5");
      const again = await reserve(shopId, a, 40, 15 * minute, "checkout:5");
      expect(again.replayed).toBe(true);
      expect(again.transaction.id).toBe(first.transaction.id);
      expect(again.reservation.id).toBe(first.reservation.id);
      expect(await codeOf(reserve(shopId, a, 41, 15 * minute, "checkout:5"))).toBe("idempotency_key_reused");
      expect(await codeOf(reserve(shopId, b, 40, 15 * minute, "checkout:5"))).toBe("idempotency_key_reused");
      expect(await account(shopId, a)).toMatchObject({ available: 60, reserved: 40 });
      expect(await account(shopId, b)).toMatchObject({ available: 100, reserved: 0 });
      const reservations = await db()
        .selectFrom("point_reservations")
        .select("id")
        .where("shop_id", "=", shopId)
        .execute();
      expect(reservations).toHaveLength(1);
      expect(await eventsFor(shopId, first.transaction.id)).toHaveLength(1);
      await expectClean(shopId);
    });

    it("replays a reversal and refuses its key for another reversal", async () => {
      const { shopId, a } = await setup();
      const earned = await earn(shopId, a, 100);
      const spent = await spend(shopId, a, 50);
      const first = await reverse(shopId, spent.transaction.id, 20, "refund:1");
      const again = await reverse(shopId, spent.transaction.id, 20, "refund:1");
      expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id } });
      expect(await codeOf(reverse(shopId, spent.transaction.id, 30, "refund:1"))).toBe("idempotency_key_reused");
      expect(await codeOf(reverse(shopId, earned.transaction.id, 20, "refund:1"))).toBe("idempotency_key_reused");
      expect(await account(shopId, a)).toMatchObject({ available: 70, lifetimeSpent: 30, lifetimeEarned: 100 });
      const original = await getTransactionDetail(db(), shopId, spent.transaction.id);
      expect(original.transaction.reversedAmount).toBe(20);
      expect(await listTransactions(t().database, shopId, a, { limit: 10, types: ["reverse"] }, now())).toHaveLength(1);
      expect(await eventsFor(shopId, first.transaction.id)).toHaveLength(1);
      await expectClean(shopId);
    });

    it("replays a confirmation, a commit and a release", async () => {
      const { shopId, a } = await setup();
      const pending = await earn(shopId, a, 80, { pending: true });
      const confirm = () =>
        tx((trx) =>
          confirmPending(trx, { shopId, transactionId: pending.transaction.id, actor, idempotencyKey: "c:1" }, now()),
        );
      const confirmed = await confirm();
      expect(await confirm()).toMatchObject({ replayed: true, transaction: { id: confirmed.transaction.id } });

      const toCommit = await reserve(shopId, a, 30);
      const commit = () =>
        tx((trx) =>
          commitReservation(trx, { shopId, reservationId: toCommit.reservation.id, amount: 20, actor }, now()),
        );
      const committed = await commit();
      expect(await commit()).toMatchObject({ replayed: true, transaction: { id: committed.transaction.id } });
      expect(
        await codeOf(
          tx((trx) =>
            commitReservation(trx, { shopId, reservationId: toCommit.reservation.id, amount: 25, actor }, now()),
          ),
        ),
      ).toBe("reservation_not_active");

      const toRelease = await reserve(shopId, a, 10);
      const release = () =>
        tx((trx) => releaseReservation(trx, { shopId, reservationId: toRelease.reservation.id, actor }, now()));
      const released = await release();
      expect(await release()).toMatchObject({ replayed: true, transaction: { id: released.transaction.id } });

      expect(await account(shopId, a)).toMatchObject({ available: 60, reserved: 0, lifetimeSpent: 20 });
      expect((await typesOf(shopId, a)).map(([type]) => type)).toEqual([
        "release",
        "reserve",
        "redeem",
        "reserve",
        "confirm",
        "earn",
      ]);
      await expectClean(shopId);
    });
    it("refuses the key of a commit or release for another reservation", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 100);
      const first = await reserve(shopId, a, 10);
      const second = await reserve(shopId, a, 20);
      await tx((trx) =>
        commitReservation(trx, { shopId, reservationId: first.reservation.id, actor, idempotencyKey: "pay:1" }, now()),
      );
      const commitOther = tx((trx) =>
        commitReservation(trx, { shopId, reservationId: second.reservation.id, actor, idempotencyKey: "pay:1" }, now()),
      );
      expect(await codeOf(commitOther)).toBe("idempotency_key_reused");
      const releaseOther = tx((trx) =>
        releaseReservation(
          trx,
          { shopId, reservationId: second.reservation.id, actor, idempotencyKey: "pay:1" },
          now(),
        ),
      );
      expect(await codeOf(releaseOther)).toBe("idempotency_key_reused");
      await spend(shopId, a, 5, "spend:1");
      const commitWithSpendKey = tx((trx) =>
        commitReservation(
          trx,
          { shopId, reservationId: second.reservation.id, actor, idempotencyKey: "spend:1" },
          now(),
        ),
      );
      expect(await codeOf(commitWithSpendKey)).toBe("idempotency_key_reused");
      expect((await getReservation(t().database, shopId, second.reservation.id, now())).status).toBe("active");
      expect(await account(shopId, a)).toMatchObject({ available: 65, reserved: 20, lifetimeSpent: 15 });
      await expectClean(shopId);
    });

    // A confirm records the credit it confirmed (confirms_transaction_id), so the same key on
    // another credit is a reuse, not a replay.
    it("refuses the key of a confirmation for another transaction", async () => {
      const { shopId, a } = await setup();
      const first = await earn(shopId, a, 10, { pending: true });
      const second = await earn(shopId, a, 20, { pending: true });
      const confirm = (transactionId: string) =>
        tx((trx) => confirmPending(trx, { shopId, transactionId, actor, idempotencyKey: "ok:1" }, now()));
      await confirm(first.transaction.id);
      expect(await codeOf(confirm(second.transaction.id))).toBe("idempotency_key_reused");
      expect(await account(shopId, a)).toMatchObject({ available: 10, pending: 20 });
    });
  }

  function describeLots() {
    it("spends the soonest-expiring lots first, oldest first among equals, never-expiring last", async () => {
      const { shopId, a } = await setup();
      const may = await lotOf(
        shopId,
        (await earn(shopId, a, 100, { expiresAt: "2026-05-01T00:00:00Z" })).transaction.id,
      );
      const april = await lotOf(
        shopId,
        (await earn(shopId, a, 100, { expiresAt: "2026-04-01T00:00:00Z" })).transaction.id,
      );
      const never = await lotOf(shopId, (await earn(shopId, a, 100)).transaction.id);
      t().clock.advance(minute);
      const laterApril = await lotOf(
        shopId,
        (await earn(shopId, a, 100, { expiresAt: "2026-04-01T00:00:00Z" })).transaction.id,
      );

      const first = await spend(shopId, a, 250);
      expect(await movementsOf(shopId, first.transaction.id)).toEqual([
        [april, -100],
        [laterApril, -100],
        [may, -50],
      ]);
      const second = await spend(shopId, a, 100);
      expect(await movementsOf(shopId, second.transaction.id)).toEqual([
        [may, -50],
        [never, -50],
      ]);
      const open = await listLots(t().database, shopId, a, { limit: 10 }, now());
      expect(open.map((lot) => [lot.id, lot.remaining, lot.expiresAt])).toEqual([[never, 50, null]]);
      expect(await account(shopId, a)).toMatchObject({ available: 50, lifetimeSpent: 350 });
      await expectClean(shopId);
    });

    it("expires only what remains of a partly spent lot", async () => {
      const { shopId, a } = await setup();
      const april = await lotOf(
        shopId,
        (await earn(shopId, a, 100, { expiresAt: "2026-04-01T00:00:00Z" })).transaction.id,
      );
      await earn(shopId, a, 40);
      await spend(shopId, a, 30);
      t().clock.set("2026-03-31T23:59:59.999Z");
      await tx((trx) => settleAccount(trx, shopId, a, now()));
      expect(await account(shopId, a)).toMatchObject({ available: 110, lifetimeExpired: 0 });

      t().clock.set("2026-04-01T00:00:00.000Z");
      const balance = await tx((trx) => settleAccount(trx, shopId, a, now()));
      expect(balance).toMatchObject({ available: 40, lifetimeEarned: 140, lifetimeSpent: 30, lifetimeExpired: 70 });
      const expired = await listTransactions(t().database, shopId, a, { limit: 10, types: ["expire"] }, now());
      expect(expired.map((transaction) => [transaction.amount, transaction.actor.type])).toEqual([[70, "system"]]);
      const detail = await getTransactionDetail(db(), shopId, expired[0]?.id ?? "");
      expect(detail.movements.map((movement) => [movement.lot_id, movement.amount])).toEqual([[april, -70]]);
      expect(detail.entries.map((entry) => [entry.account, entry.member_id, entry.amount])).toEqual([
        ["available", a, -70],
        ["expired", null, 70],
      ]);
      expect((await lotRow(shopId, april)).remaining).toBe(0);
      // Settling again finds nothing new.
      await tx((trx) => settleAccount(trx, shopId, a, now()));
      expect(await listTransactions(t().database, shopId, a, { limit: 10, types: ["expire"] }, now())).toHaveLength(1);
      await expectClean(shopId);
    });

    it("gives released, committed-back and reversed points to the lots they came from, last drawn first", async () => {
      const { shopId, a } = await setup();
      const april = await lotOf(
        shopId,
        (await earn(shopId, a, 50, { expiresAt: "2026-04-01T00:00:00Z" })).transaction.id,
      );
      const may = await lotOf(
        shopId,
        (await earn(shopId, a, 50, { expiresAt: "2026-05-01T00:00:00Z" })).transaction.id,
      );
      const never = await lotOf(shopId, (await earn(shopId, a, 50)).transaction.id);
      const remaining = async () =>
        Promise.all([april, may, never].map(async (lotId) => (await lotRow(shopId, lotId)).remaining));

      const held = await reserve(shopId, a, 120);
      expect(await movementsOf(shopId, held.transaction.id)).toEqual([
        [april, -50],
        [may, -50],
        [never, -20],
      ]);
      const released = await tx((trx) =>
        releaseReservation(trx, { shopId, reservationId: held.reservation.id, actor }, now()),
      );
      expect(await movementsOf(shopId, released.transaction.id)).toEqual([
        [never, 20],
        [may, 50],
        [april, 50],
      ]);
      expect(await remaining()).toEqual([50, 50, 50]);

      const partly = await reserve(shopId, a, 120);
      const committed = await tx((trx) =>
        commitReservation(trx, { shopId, reservationId: partly.reservation.id, amount: 90, actor }, now()),
      );
      expect(await movementsOf(shopId, committed.transaction.id)).toEqual([
        [never, 20],
        [may, 10],
      ]);
      expect(await remaining()).toEqual([0, 10, 50]);
      expect(committed.balance).toMatchObject({ available: 60, reserved: 0, lifetimeSpent: 90 });

      // Reversing the commit gives back the 90 spent: from the May lot first (drawn after April).
      const refund = await reverse(shopId, committed.transaction.id, 60);
      expect(await movementsOf(shopId, refund.transaction.id)).toEqual([
        [may, 40],
        [april, 20],
      ]);
      const rest = await reverse(shopId, committed.transaction.id);
      expect(rest.transaction.amount).toBe(30);
      expect(await movementsOf(shopId, rest.transaction.id)).toEqual([[april, 30]]);
      expect(await remaining()).toEqual([50, 50, 50]);
      const lots = await listLots(t().database, shopId, a, { limit: 10 }, now());
      expect(lots.map((lot) => [lot.id, lot.expiresAt]).sort()).toEqual(
        [
          [april, "2026-04-01T00:00:00.000Z"],
          [may, "2026-05-01T00:00:00.000Z"],
          [never, null],
        ].sort(),
      );
      expect(await account(shopId, a)).toMatchObject({ available: 150, lifetimeSpent: 0 });
      expect(await codeOf(reverse(shopId, committed.transaction.id))).toBe("already_reversed");
      await expectClean(shopId);
    });

    it("expires at once a lot that a reversal restores after its expiry", async () => {
      const { shopId, a } = await setup();
      const april = await lotOf(
        shopId,
        (await earn(shopId, a, 100, { expiresAt: "2026-04-01T00:00:00Z" })).transaction.id,
      );
      const never = await lotOf(shopId, (await earn(shopId, a, 100)).transaction.id);
      const spent = await spend(shopId, a, 150);
      t().clock.set("2026-04-02T00:00:00.000Z");
      const reversed = await reverse(shopId, spent.transaction.id);
      expect(await movementsOf(shopId, reversed.transaction.id)).toEqual([
        [never, 50],
        [april, 100],
      ]);
      expect(reversed.balance).toMatchObject({ available: 100, lifetimeSpent: 0, lifetimeExpired: 100 });
      expect(await typesOf(shopId, a)).toEqual([
        ["expire", 100],
        ["reverse", 150],
        ["redeem", 150],
        ["earn", 100],
        ["earn", 100],
      ]);
      expect((await lotRow(shopId, april)).remaining).toBe(0);
      expect((await lotRow(shopId, never)).remaining).toBe(100);
      await expectClean(shopId);
    });

    it("expires at once the lot of a reservation that ends after the lot's expiry", async () => {
      const { shopId, a } = await setup();
      t().clock.set("2026-03-30T12:00:00.000Z");
      await earn(shopId, a, 100, { expiresAt: "2026-04-01T00:00:00Z" });
      await earn(shopId, a, 10);
      const held = await reserve(shopId, a, 100, 4 * day);
      t().clock.set("2026-04-01T06:00:00.000Z");
      // The lot's date has passed, but its points are reserved: nothing to expire yet.
      expect(await getPointsSummary(t().database, shopId, a, now())).toMatchObject({ available: 10, reserved: 100 });
      t().clock.set("2026-04-05T00:00:00.000Z");
      const summary = await getPointsSummary(t().database, shopId, a, now());
      expect(summary).toMatchObject({ available: 10, reserved: 0, pending: 0, lifetimeExpired: 100 });
      expect(await getReservation(t().database, shopId, held.reservation.id, now())).toMatchObject({
        status: "expired",
      });
      expect((await typesOf(shopId, a)).slice(0, 2)).toEqual([
        ["expire", 100],
        ["release", 100],
      ]);
      await expectClean(shopId);
    });
  }

  function describePending() {
    it("shows pending points without letting them be spent until confirmed", async () => {
      const { shopId, a } = await setup();
      const held = await earn(shopId, a, 100, { pending: true });
      await earn(shopId, a, 50);
      expect(await getPointsSummary(t().database, shopId, a, now())).toMatchObject({
        available: 50,
        pending: 100,
        lifetimeEarned: 50,
      });
      expect(await codeOf(spend(shopId, a, 120))).toBe("insufficient_points");
      expect(await codeOf(reserve(shopId, a, 51))).toBe("insufficient_points");

      const confirmed = await tx((trx) =>
        confirmPending(trx, { shopId, transactionId: held.transaction.id, actor }, now()),
      );
      expect(confirmed.transaction).toMatchObject({ type: "confirm", amount: 100 });
      expect(confirmed.balance).toMatchObject({ available: 150, pending: 0, lifetimeEarned: 150 });
      expect(
        await codeOf(tx((trx) => confirmPending(trx, { shopId, transactionId: held.transaction.id, actor }, now()))),
      ).toBe("not_pending");
      expect((await spend(shopId, a, 120)).balance.available).toBe(30);
      await expectClean(shopId);
    });

    it("confirms pending points on their own once pending_until passes", async () => {
      const { shopId, a, b } = await setup();
      const until = new Date(now().getTime() + 14 * day).toISOString();
      await earn(shopId, a, 80, { pending: true, pendingUntil: until, expiresAt: "2026-12-31T00:00:00Z" });
      await earn(shopId, b, 30, { pending: true, pendingUntil: until });
      t().clock.advance(14 * day - 1);
      expect(await getPointsSummary(t().database, shopId, a, now())).toMatchObject({ available: 0, pending: 80 });
      expect(await settleDueAccounts(t().database, shopId, now())).toBe(0);

      t().clock.advance(1);
      const summary = await getPointsSummary(t().database, shopId, a, now());
      expect(summary).toMatchObject({
        available: 80,
        pending: 0,
        lifetimeEarned: 80,
        nextExpiration: { at: "2026-12-31T00:00:00.000Z", points: 80 },
      });
      const confirmations = await listTransactions(t().database, shopId, a, { limit: 10, types: ["confirm"] }, now());
      expect(confirmations.map((transaction) => [transaction.amount, transaction.actor.type])).toEqual([
        [80, "system"],
      ]);
      // b is settled by the sweep without anyone reading it.
      expect(await account(shopId, b)).toMatchObject({ pending: 30, available: 0 });
      expect(await settleDueAccounts(t().database, shopId, now())).toBe(1);
      expect(await account(shopId, b)).toMatchObject({ pending: 0, available: 30, lifetimeEarned: 30 });
      expect(await settleDueAccounts(t().database, shopId, now())).toBe(0);
      await expectClean(shopId);
    });

    it("cancels pending points when their credit is reversed", async () => {
      const { shopId, a } = await setup();
      const held = await earn(shopId, a, 100, { pending: true });
      await earn(shopId, a, 40);
      const partial = await reverse(shopId, held.transaction.id, 30);
      expect(partial.balance).toMatchObject({ available: 40, pending: 70, lifetimeEarned: 40 });
      const detail = await getTransactionDetail(db(), shopId, partial.transaction.id);
      expect(detail.entries.map((entry) => [entry.account, entry.amount])).toEqual([
        ["reversals", 30],
        ["pending", -30],
      ]);
      const rest = await reverse(shopId, held.transaction.id);
      expect(rest.transaction.amount).toBe(70);
      expect(rest.balance).toMatchObject({ available: 40, pending: 0, lifetimeEarned: 40 });
      expect(await codeOf(reverse(shopId, held.transaction.id))).toBe("already_reversed");
      expect(
        await codeOf(tx((trx) => confirmPending(trx, { shopId, transactionId: held.transaction.id, actor }, now()))),
      ).toBe("not_pending");
      await expectClean(shopId);
    });
  }

  function describeReservations() {
    it("expires a reservation on its own and gives the points back", async () => {
      const { shopId, a } = await setup();
      await earn(shopId, a, 300);
      const held = await reserve(shopId, a, 100, hour);
      expect(await getPointsSummary(t().database, shopId, a, now())).toMatchObject({ available: 200, reserved: 100 });
      t().clock.advance(hour - 1);
      expect(await getPointsSummary(t().database, shopId, a, now())).toMatchObject({ available: 200, reserved: 100 });
      t().clock.advance(1);
      expect(await getPointsSummary(t().database, shopId, a, now())).toMatchObject({
        available: 300,
        reserved: 0,
        lifetimeSpent: 0,
      });
      const reservation = await getReservation(t().database, shopId, held.reservation.id, now());
      expect(reservation.status).toBe("expired");
      expect(reservation.releaseTransactionId).not.toBeNull();
      const commit = await codeOf(
        tx((trx) => commitReservation(trx, { shopId, reservationId: held.reservation.id, actor }, now())),
      );
      expect(commit).toBe("reservation_not_active");
      const release = await tx((trx) =>
        releaseReservation(trx, { shopId, reservationId: held.reservation.id, actor }, now()),
      );
      expect(release).toMatchObject({ replayed: true, transaction: { id: reservation.releaseTransactionId } });
      expect(await account(shopId, a)).toMatchObject({ available: 300, reserved: 0 });
      await expectClean(shopId);
    });

    it("expires reservations in the settlement sweep and refuses a commit after it", async () => {
      const { shopId, a, b } = await setup();
      await earn(shopId, a, 100);
      await earn(shopId, b, 100);
      const first = await reserve(shopId, a, 60, 10 * minute);
      const second = await reserve(shopId, b, 70, 20 * minute);
      t().clock.advance(15 * minute);
      expect(await settleDueAccounts(t().database, shopId, now())).toBe(1);
      expect((await getReservation(t().database, shopId, first.reservation.id, now())).status).toBe("expired");
      expect((await getReservation(t().database, shopId, second.reservation.id, now())).status).toBe("active");
      expect(await account(shopId, a)).toMatchObject({ available: 100, reserved: 0 });
      expect(
        await codeOf(
          tx((trx) => commitReservation(trx, { shopId, reservationId: first.reservation.id, actor }, now())),
        ),
      ).toBe("reservation_not_active");
      const committed = await tx((trx) =>
        commitReservation(trx, { shopId, reservationId: second.reservation.id, actor }, now()),
      );
      expect(committed.balance).toMatchObject({ available: 30, reserved: 0, lifetimeSpent: 70 });
      await expectClean(shopId);
    });
  }

  function describeLiability() {
    async function setRate(shop: TestShop, rate: { points: number; amount: number }): Promise<void> {
      const response = await t().app.inject({
        method: "PATCH",
        url: "/v1/shop",
        headers: bearer(shop.secretKey),
        payload: { redemption_rate: rate },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().redemption_rate).toMatchObject({ ...rate, is_default: false });
    }

    it("values JPY points one yen each by default and rounds a shop rate half up", async () => {
      const { shop, shopId, a, b } = await setup({ baseCurrency: "JPY" });
      await earn(shopId, a, 1234);
      await earn(shopId, a, 500, { expiresAt: "2026-04-15T00:00:00Z" });
      await earn(shopId, b, 1, { pending: true, expiresAt: "2026-06-10T00:00:00Z" });
      await reserve(shopId, a, 34);
      const liability = await pointsLiability(db(), shopId, now());
      expect(liability).toEqual({
        asOf: start,
        currency: "JPY",
        rate: { points: 1, amount: 1 },
        available: 1700,
        pending: 1,
        reserved: 34,
        outstanding: 1735,
        value: { amount: 1735, currency: "JPY" },
        awaitingExpiry: 0,
        byExpiryMonth: [
          { month: "2026-04", points: 466, value: { amount: 466, currency: "JPY" } },
          { month: "2026-06", points: 1, value: { amount: 1, currency: "JPY" } },
          { month: null, points: 1234, value: { amount: 1234, currency: "JPY" } },
        ],
      });

      // The reservation drew from the soonest-expiring lot, so April holds 466.
      // 10 points = 3 yen: 1735 → 520.5 → 521, 466 → 139.8 → 140, 1 → 0.3 → 0, 1234 → 370.2 → 370.
      await setRate(shop, { points: 10, amount: 3 });
      const rated = await pointsLiability(db(), shopId, now());
      expect(rated.rate).toEqual({ points: 10, amount: 3 });
      expect(rated.value).toEqual({ amount: 521, currency: "JPY" });
      expect(rated.byExpiryMonth.map((row) => [row.month, row.value.amount])).toEqual([
        ["2026-04", 140],
        ["2026-06", 0],
        [null, 370],
      ]);
      // 2 points = 1 yen: 1735 → 867.5 → 868; 1 → 0.5 → 1.
      await setRate(shop, { points: 2, amount: 1 });
      const halves = await pointsLiability(db(), shopId, now());
      expect(halves.value.amount).toBe(868);
      expect(halves.byExpiryMonth.map((row) => row.value.amount)).toEqual([233, 1, 617]);
    });

    it("values KWD points at 100 points = 1.000 dinar by default", async () => {
      const { shop, shopId, a } = await setup({ baseCurrency: "KWD" });
      await earn(shopId, a, 1234);
      await earn(shopId, a, 7, { expiresAt: "2026-03-20T00:00:00Z" });
      const liability = await pointsLiability(db(), shopId, now());
      expect(liability.rate).toEqual({ points: 100, amount: 1000 });
      expect(liability.value).toEqual({ amount: 12410, currency: "KWD" });
      expect(liability.byExpiryMonth).toEqual([
        { month: "2026-03", points: 7, value: { amount: 70, currency: "KWD" } },
        { month: null, points: 1234, value: { amount: 12340, currency: "KWD" } },
      ]);
      // 300 points = 1.000 dinar: 1241 → 4136.67 → 4137; 7 → 23.33 → 23; 1234 → 4113.33 → 4113.
      await setRate(shop, { points: 300, amount: 1000 });
      const rated = await pointsLiability(db(), shopId, now());
      expect(rated.value.amount).toBe(4137);
      expect(rated.byExpiryMonth.map((row) => row.value.amount)).toEqual([23, 4113]);
      // 8 points = 1 fils: 1241 → 155.125 → 155; 7 → 0.875 → 1; 1234 → 154.25 → 154.
      await setRate(shop, { points: 8, amount: 1 });
      const small = await pointsLiability(db(), shopId, now());
      expect(small.value.amount).toBe(155);
      expect(small.byExpiryMonth.map((row) => row.value.amount)).toEqual([1, 154]);
    });

    it("splits the liability by expiry month in the shop's time zone, without points awaiting expiry", async () => {
      const { shopId, a, b } = await setup({ baseCurrency: "JPY", timezone: "Asia/Tokyo" });
      await earn(shopId, a, 100, { expiresAt: "2026-04-30T16:00:00Z" }); // 2026-05-01 01:00 in Tokyo
      await earn(shopId, a, 20, { expiresAt: "2026-04-30T14:59:59Z" }); // 2026-04-30 23:59:59 in Tokyo
      await earn(shopId, a, 3, { expiresAt: "2026-03-31T15:30:00Z" }); // 2026-04-01 00:30 in Tokyo
      await earn(shopId, b, 9, { expiresAt: "2026-03-05T00:00:00Z" });
      await earn(shopId, b, 11, { expiresAt: "2027-01-01T00:00:00Z" });
      const liability = await pointsLiability(db(), shopId, now());
      expect(liability.byExpiryMonth.map((row) => [row.month, row.points])).toEqual([
        ["2026-03", 9],
        ["2026-04", 23],
        ["2026-05", 100],
        ["2027-01", 11],
      ]);
      expect(liability).toMatchObject({ available: 143, outstanding: 143, awaitingExpiry: 0 });

      // Past b's first lot, before anything settles it: not owed, awaiting expiry.
      t().clock.set("2026-03-06T00:00:00.000Z");
      const later = await pointsLiability(db(), shopId, now());
      expect(later).toMatchObject({ available: 134, outstanding: 134, awaitingExpiry: 9 });
      expect(later.byExpiryMonth.map((row) => [row.month, row.points])).toEqual([
        ["2026-04", 23],
        ["2026-05", 100],
        ["2027-01", 11],
      ]);
      expect(await settleDueAccounts(t().database, shopId, now())).toBe(1);
      expect(await pointsLiability(db(), shopId, now())).toMatchObject({ available: 134, awaitingExpiry: 0 });
      await expectClean(shopId);
    });
  }

  function describeVerify() {
    /** A shop with a little of everything, verified clean. */
    async function history() {
      const { shopId, a, b } = await setup();
      const earned = await earn(shopId, a, 200, { expiresAt: "2026-06-01T00:00:00Z" });
      await earn(shopId, a, 50, { pending: true });
      await earn(shopId, b, 90);
      const spent = await spend(shopId, a, 60);
      const held = await reserve(shopId, a, 40);
      await reverse(shopId, spent.transaction.id, 10);
      await expectClean(shopId);
      return { shopId, a, b, earned, held };
    }

    async function checks(shopId: string) {
      const report = await verifyLedger(db(), { shopId });
      return report.problems.map((problem) => [problem.check, problem.subject]).sort();
    }

    it("reports a cached balance edited by hand", async () => {
      const { shopId, a } = await history();
      await db()
        .updateTable("point_accounts")
        .set((eb) => ({ available: eb("available", "+", 5) }))
        .where("shop_id", "=", shopId)
        .where("member_id", "=", a)
        .execute();
      expect(await checks(shopId)).toEqual([
        ["balance_equals_entries", a],
        ["balance_equals_lots", a],
      ]);
    });

    it("reports a lot edited by hand", async () => {
      const { shopId, a, earned } = await history();
      const lotId = await lotOf(shopId, earned.transaction.id);
      await db()
        .updateTable("ledger_lots")
        .set((eb) => ({ remaining: eb("remaining", "-", 5) }))
        .where("shop_id", "=", shopId)
        .where("id", "=", lotId)
        .execute();
      expect(await checks(shopId)).toEqual([
        ["balance_equals_lots", a],
        ["lot_equals_movements", lotId],
      ]);
    });

    it("reports a deleted entry", async () => {
      const { shopId, b } = await history();
      const [credit] = await listTransactions(t().database, shopId, b, { limit: 1 }, now());
      const transactionId = credit?.id ?? "";
      await db()
        .deleteFrom("ledger_entries")
        .where("shop_id", "=", shopId)
        .where("transaction_id", "=", transactionId)
        .where("member_id", "=", b)
        .execute();
      expect(await checks(shopId)).toEqual([
        ["balance_equals_entries", b],
        ["balanced_entries", transactionId],
      ]);
      const report = await verifyLedger(db(), { shopId });
      expect(report.problems.find((problem) => problem.check === "balanced_entries")?.detail).toBe(
        "1 entries summing to -90",
      );
    });

    it("reports an unbalanced entry and a lot below zero", async () => {
      const { shopId, a, earned } = await history();
      await db()
        .updateTable("ledger_entries")
        .set({ amount: -199 })
        .where("shop_id", "=", shopId)
        .where("transaction_id", "=", earned.transaction.id)
        .where("member_id", "is", null)
        .execute();
      const lotId = await lotOf(shopId, earned.transaction.id);
      await sql`update ledger_lots set remaining = -1 where shop_id = ${shopId} and id = ${lotId}`.execute(db());
      expect(await checks(shopId)).toEqual([
        ["balance_equals_lots", a],
        ["balanced_entries", earned.transaction.id],
        ["lot_equals_movements", lotId],
        ["non_negative_lot", lotId],
      ]);
    });

    it("reports a reservation whose status does not match its transactions", async () => {
      const { shopId, a, held } = await history();
      await db()
        .updateTable("point_reservations")
        .set({ status: "released" })
        .where("shop_id", "=", shopId)
        .where("id", "=", held.reservation.id)
        .execute();
      expect(await checks(shopId)).toEqual([
        ["reservation_status", held.reservation.id],
        ["reserved_equals_reservations", a],
      ]);
    });
  }

  function describeTransfer() {
    it("moves every lot with its expiry and pending state; the target adds the lifetime totals", async () => {
      const { shopId, a, b } = await setup();
      const pendingUntil = new Date(now().getTime() + 2 * day).toISOString();
      const april = await earn(shopId, a, 100, { expiresAt: "2026-04-01T00:00:00Z" });
      await earn(shopId, a, 50, { pending: true, pendingUntil, expiresAt: "2026-09-01T00:00:00Z" });
      await earn(shopId, a, 30, { pending: true });
      await earn(shopId, a, 70);
      await spend(shopId, a, 20);
      await earn(shopId, b, 10);

      const moved = await tx((trx) => transferAccount(trx, { shopId, fromMemberId: a, toMemberId: b, actor }, now()));
      expect(moved?.transaction).toMatchObject({ type: "transfer", amount: 230, memberId: a });
      // The source keeps its own totals: its history stays with it.
      expect(moved?.balance).toMatchObject({ available: 0, pending: 0, lifetimeEarned: 170, lifetimeSpent: 20 });
      expect(await account(shopId, a)).toEqual({
        available: 0,
        pending: 0,
        reserved: 0,
        lifetimeEarned: 170,
        lifetimeSpent: 20,
        lifetimeExpired: 0,
      });
      expect(await account(shopId, b)).toEqual({
        available: 160,
        pending: 80,
        reserved: 0,
        lifetimeEarned: 180,
        lifetimeSpent: 20,
        lifetimeExpired: 0,
      });
      const lots = await listLots(t().database, shopId, b, { limit: 10 }, now());
      const copies = lots
        .filter((lot) => lot.transactionId === moved?.transaction.id)
        .map((lot) => [lot.state, lot.remaining, lot.expiresAt, lot.pendingUntil])
        .sort();
      expect(copies).toEqual(
        [
          ["available", 80, "2026-04-01T00:00:00.000Z", null],
          ["available", 70, null, null],
          ["pending", 50, "2026-09-01T00:00:00.000Z", pendingUntil],
          ["pending", 30, null, null],
        ].sort(),
      );
      expect(await listLots(t().database, shopId, a, { limit: 10 }, now())).toEqual([]);
      const [event] = await eventsFor(shopId, moved?.transaction.id ?? "");
      expect(event?.type).toBe("points.transferred");
      await expectClean(shopId);

      // The moved lots keep their dates: the pending ones confirm and the April ones expire on b.
      t().clock.advance(2 * day);
      expect(await tx((trx) => settleAccount(trx, shopId, b, now()))).toMatchObject({ available: 210, pending: 30 });
      t().clock.set("2026-04-01T00:00:00.000Z");
      expect(await tx((trx) => settleAccount(trx, shopId, b, now()))).toMatchObject({
        available: 130,
        pending: 30,
        lifetimeEarned: 230,
        lifetimeExpired: 80,
      });
      // Nothing moved back: a's old lot is empty, so taking its credit back needs points a lacks.
      expect(await codeOf(reverse(shopId, april.transaction.id))).toBe("insufficient_points");
      await expectClean(shopId);
    });

    it("refuses to move an account with an active reservation", async () => {
      const { shopId, a, b } = await setup();
      await earn(shopId, a, 100);
      const held = await reserve(shopId, a, 10);
      const transfer = () =>
        tx((trx) => transferAccount(trx, { shopId, fromMemberId: a, toMemberId: b, actor }, now()));
      expect(await codeOf(transfer())).toBe("reservations_active");
      expect(await account(shopId, a)).toMatchObject({ available: 90, reserved: 10 });
      expect(await account(shopId, b)).toMatchObject({ available: 0 });
      await tx((trx) => releaseReservation(trx, { shopId, reservationId: held.reservation.id, actor }, now()));
      expect((await transfer())?.transaction.amount).toBe(100);
      expect(await transfer()).toBeNull();
      expect(await account(shopId, b)).toMatchObject({ available: 100, lifetimeEarned: 100 });
      await expectClean(shopId);
    });

    // Pending lots moved by a transfer carry the transfer transaction, whose member is the source;
    // confirming them must act on the member who holds them.
    it("lets the member who received pending points confirm them", async () => {
      const { shopId, a, b } = await setup();
      await earn(shopId, a, 30, { pending: true });
      const moved = await tx((trx) => transferAccount(trx, { shopId, fromMemberId: a, toMemberId: b, actor }, now()));
      expect(await account(shopId, b)).toMatchObject({ pending: 30, available: 0 });
      const confirmed = await tx((trx) =>
        confirmPending(trx, { shopId, transactionId: moved?.transaction.id ?? "", actor }, now()),
      );
      expect(confirmed.balance).toMatchObject({ memberId: b, available: 30, pending: 0, lifetimeEarned: 30 });
      await expectClean(shopId);
    });

    it("refuses to cancel pending points that have moved to another member", async () => {
      const { shopId, a, b } = await setup();
      const held = await earn(shopId, a, 30, { pending: true });
      await tx((trx) => transferAccount(trx, { shopId, fromMemberId: a, toMemberId: b, actor }, now()));
      await earn(shopId, a, 40, { pending: true });
      expect(await codeOf(reverse(shopId, held.transaction.id))).toBe("insufficient_points");
      expect(await account(shopId, a)).toMatchObject({ pending: 40 });
      expect(await account(shopId, b)).toMatchObject({ pending: 30 });
      await expectClean(shopId);
    });
  }
});
