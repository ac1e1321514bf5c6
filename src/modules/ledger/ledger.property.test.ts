import fc from "fast-check";
import { expect, it } from "vitest";
import { createShop, describeEachDialect, useTestApp } from "../../../test/support/app.js";
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
  type LedgerResult,
  releaseReservation,
  reservePoints,
  reverseTransaction,
  settleDueAccounts,
  transferAccount,
  verifyLedger,
} from "./index.js";
import type { SystemAccount, TransactionType } from "./tables.js";

/*
 * Random histories of ledger commands over three members of one shop, checked after every command
 * against a model of the ledger kept here: balances, lifetime totals, every lot's remaining points,
 * reservation states, system account totals and the number of transactions. The model settles a
 * member (reservations, pending dates, expiry) whenever the ledger says it does, and predicts which
 * commands the ledger must refuse and with what code; a refused command must change nothing.
 */

const actor: Actor = { type: "api_key", id: null };
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const memberCount = 3;

// ---------------------------------------------------------------------------------------------
// Commands

type Command =
  | {
      kind: "earn";
      member: number;
      amount: number;
      expiresIn: number | null;
      pending: boolean;
      pendingUntilIn: number | null;
    }
  | { kind: "adjustUp"; member: number; amount: number; expiresIn: number | null }
  | { kind: "spend"; member: number; amount: number }
  | { kind: "adjustDown"; member: number; amount: number }
  | { kind: "reserve"; member: number; amount: number; expiresIn: number }
  | { kind: "commit"; pick: number; amount: number | null }
  | { kind: "release"; pick: number }
  | { kind: "confirm"; pick: number }
  | { kind: "reverse"; pick: number; amount: number | null }
  | { kind: "transfer"; from: number; offset: number }
  | { kind: "advance"; ms: number; settle: "none" | "sweep" | "summary"; member: number }
  | { kind: "replay"; pick: number };

const member = fc.nat(memberCount - 1);
// Lots are small next to spends, so that spends, reservations and their restores span several lots.
const amount = fc.integer({ min: 5, max: 100 });
const smallAmount = fc.integer({ min: 1, max: 90 });
const pick = fc.nat(1000);
const lotExpiry = fc.oneof(fc.constant(null), fc.constantFrom(2 * hour, day, 3 * day, 10 * day, 40 * day));

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("earn" as const),
      member,
      amount,
      expiresIn: lotExpiry,
      pending: fc.constantFrom(false, false, true),
      pendingUntilIn: fc.option(fc.constantFrom(hour, 12 * hour, 2 * day, 5 * day), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("adjustUp" as const), member, amount, expiresIn: lotExpiry }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("spend" as const), member, amount: smallAmount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("adjustDown" as const), member, amount: smallAmount }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      member,
      amount: smallAmount,
      expiresIn: fc.constantFrom(10 * minute, hour, day, 3 * day, 7 * day),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("commit" as const),
      pick,
      amount: fc.option(smallAmount, { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("confirm" as const), pick }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("reverse" as const),
      pick,
      amount: fc.option(smallAmount, { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("transfer" as const), from: member, offset: fc.nat(1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.constantFrom(minute, hour, 12 * hour, 2 * day, 8 * day, 30 * day),
      settle: fc.constantFrom("none" as const, "sweep" as const, "summary" as const),
      member,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("replay" as const), pick }) },
);

/** Each member starts with some points, so that spends and reservations have something to take. */
const opening: fc.Arbitrary<Command[]> = fc.tuple(
  ...Array.from({ length: 2 * memberCount }, (_, index) =>
    fc.record({
      kind: fc.constant("earn" as const),
      member: fc.constant(index % memberCount),
      amount: fc.integer({ min: 30, max: 150 }),
      expiresIn: lotExpiry,
      pending: fc.constant(false),
      pendingUntilIn: fc.constant(null),
    }),
  ),
);

const history: fc.Arbitrary<Command[]> = fc
  .integer({ min: 10, max: 34 })
  .chain((length) => fc.array(commandArbitrary, { minLength: length, maxLength: length }));

// ---------------------------------------------------------------------------------------------
// The model

interface ModelMember {
  available: number;
  pending: number;
  reserved: number;
  earned: number;
  spent: number;
  expired: number;
}

interface ModelLot {
  /** Index in `lots`: creation order, which is also the order of the lots' ids. */
  key: number;
  dbId: string;
  member: number;
  state: "available" | "pending";
  amount: number;
  remaining: number;
  pendingUntil: string | null;
  expiresAt: string | null;
  /**
   * The transaction that created the lot (the model's transaction count then). Settlement confirms
   * due pending lots in one transaction per creating transaction, and a transfer creates all its
   * copies in one.
   */
  origin: number;
}

/** What a debit or reservation drew, lot by lot, less what was given back since. */
interface Draw {
  order: number[];
  net: Record<number, number>;
}

interface ModelReservation {
  dbId: string;
  member: number;
  amount: number;
  status: "active" | "committed" | "released" | "expired";
  expiresAt: string;
  committed: number;
  draw: Draw;
}

interface ModelTransaction {
  id: string;
  member: number;
  type: TransactionType;
  amount: number;
  reversed: number;
  /** +1: credited the member, -1: debited, 0: neither (reserve, transfer, ...). */
  sign: number;
  /** A credit made as pending. */
  pending: boolean;
  lot: number | null;
  draw: Draw | null;
}

interface Model {
  members: ModelMember[];
  lots: ModelLot[];
  reservations: ModelReservation[];
  transactions: ModelTransaction[];
  system: Record<SystemAccount, number>;
  transactionCount: number;
}

function emptyModel(): Model {
  return {
    members: Array.from({ length: memberCount }, () => ({
      available: 0,
      pending: 0,
      reserved: 0,
      earned: 0,
      spent: 0,
      expired: 0,
    })),
    lots: [],
    reservations: [],
    transactions: [],
    system: { issued: 0, redeemed: 0, expired: 0, adjustments: 0, reversals: 0 },
    transactionCount: 0,
  };
}

/** The ledger refuses the command with this code. */
class Refusal extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function memberOf(model: Model, index: number): ModelMember {
  const found = model.members[index];
  if (!found) throw new Error(`model: no member ${index}`);
  return found;
}

function lotOf(model: Model, key: number): ModelLot {
  const found = model.lots[key];
  if (!found) throw new Error(`model: no lot ${key}`);
  return found;
}

function compareExpiry(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function spendableLots(model: Model, index: number): ModelLot[] {
  return model.lots
    .filter((lot) => lot.member === index && lot.state === "available" && lot.remaining > 0)
    .sort((a, b) => compareExpiry(a.expiresAt, b.expiresAt) || a.key - b.key);
}

function drawLots(model: Model, index: number, points: number, skip: number | null = null): Draw {
  const draw: Draw = { order: [], net: {} };
  let left = points;
  for (const lot of spendableLots(model, index)) {
    if (left === 0) break;
    if (lot.key === skip) continue;
    const take = Math.min(lot.remaining, left);
    lot.remaining -= take;
    draw.order.push(lot.key);
    draw.net[lot.key] = take;
    left -= take;
  }
  if (left !== 0) throw new Error(`model: member ${index} has ${points - left} points in lots, needs ${points}`);
  return draw;
}

/** Gives points back to the lots a draw took them from, the last drawn first. */
function restoreLots(model: Model, draw: Draw, points: number): void {
  let left = points;
  for (const key of [...draw.order].reverse()) {
    if (left === 0) break;
    const give = Math.min(draw.net[key] ?? 0, left);
    if (give <= 0) continue;
    lotOf(model, key).remaining += give;
    draw.net[key] = (draw.net[key] ?? 0) - give;
    left -= give;
  }
  if (left !== 0) throw new Error(`model: cannot restore ${left} of ${points}`);
}

function addTransaction(
  model: Model,
  transaction: Omit<ModelTransaction, "reversed" | "pending"> & { pending?: boolean },
): void {
  model.transactions.push({ pending: false, ...transaction, reversed: 0 });
  model.transactionCount += 1;
}

/** What the ledger's settlement does to one member at `now`. */
function settle(model: Model, index: number, now: string): void {
  const account = memberOf(model, index);
  const dueReservations = model.reservations
    .filter((reservation) => reservation.member === index && reservation.status === "active")
    .filter((reservation) => reservation.expiresAt <= now);
  for (const reservation of dueReservations) {
    restoreLots(model, reservation.draw, reservation.amount);
    account.reserved -= reservation.amount;
    account.available += reservation.amount;
    reservation.status = "expired";
    model.transactionCount += 1;
  }
  const confirmedOrigins = new Set<number>();
  for (const lot of model.lots) {
    if (lot.member !== index || lot.state !== "pending" || lot.remaining === 0) continue;
    if (lot.pendingUntil === null || lot.pendingUntil > now) continue;
    lot.state = "available";
    lot.pendingUntil = null;
    account.pending -= lot.remaining;
    account.available += lot.remaining;
    account.earned += lot.remaining;
    confirmedOrigins.add(lot.origin);
  }
  model.transactionCount += confirmedOrigins.size;
  let expired = 0;
  for (const lot of model.lots) {
    if (lot.member !== index || lot.state !== "available" || lot.remaining === 0) continue;
    if (lot.expiresAt === null || lot.expiresAt > now) continue;
    expired += lot.remaining;
    lot.remaining = 0;
  }
  if (expired > 0) {
    account.available -= expired;
    account.expired += expired;
    model.system.expired += expired;
    model.transactionCount += 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Running a command on the ledger and on the model

/** A ledger call, kept so that a replay can make exactly the same call again (at a later time). */
type Invocation = (now: Date) => Promise<LedgerResult | null>;

interface Planned {
  invoke: Invocation;
  /** Applies the command to the model (a draft), or throws a Refusal; returns whether it is a replay. */
  apply: (model: Model, result: LedgerResult | null) => "new" | "replayed" | "nothing";
  /** Members the ledger settles before (and after) the command. */
  members: number[];
  /**
   * The earliest date of the input that must lie in the future. The ledger checks it before it
   * looks for a replay, so a replay after that date is refused as invalid instead (not tested).
   */
  validUntil: string | null;
}

interface Done {
  invoke: Invocation;
  transactionId: string;
  members: number[];
  validUntil: string | null;
}

/** Ids compared as text, the way the ledger orders them (not by the database's collation). */
function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const eventTypes: Record<TransactionType, string> = {
  earn: "points.earned",
  import: "points.imported",
  adjust: "points.adjusted",
  redeem: "points.spent",
  reserve: "points.reserved",
  release: "points.released",
  confirm: "points.confirmed",
  expire: "points.expired",
  reverse: "points.reversed",
  transfer: "points.transferred",
};

describeEachDialect("points ledger under random histories", (dialect) => {
  const t = useTestApp(dialect);

  it("keeps every invariant and agrees with a model after every command", { timeout: 240_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(opening, history, async (first, rest) => {
        run += 1;
        await checkHistory([...first, ...rest], run);
      }),
      { numRuns: 25 },
    );
  });

  async function checkHistory(commands: Command[], run: number): Promise<void> {
    const database = t().database;
    const db = database.db;
    const clock = t().clock;
    const tx = <T>(work: (trx: Tx) => Promise<T>) => withTransaction(database, work);
    const shopId = (await createShop(t())).shop.id;
    const memberIds: string[] = [];
    for (let index = 0; index < memberCount; index++) {
      memberIds.push((await tx((trx) => createMember(trx, { shopId }, clock.now()))).id);
    }
    const memberId = (index: number) => memberIds[index] ?? "";
    let model = emptyModel();
    const done: Done[] = [];
    const log: string[] = [];

    for (const [step, command] of commands.entries()) {
      log.push(`${step}: ${JSON.stringify(command)}`);
      const context = () => `run ${run}, history:\n${log.join("\n")}`;
      const now = clock.now();
      const nowIso = now.toISOString();
      const at = (ms: number) => new Date(now.getTime() + ms).toISOString();

      if (command.kind === "advance") {
        clock.advance(command.ms);
        const later = clock.now();
        if (command.settle === "sweep") {
          await settleDueAccounts(database, shopId, later);
          for (let index = 0; index < memberCount; index++) settle(model, index, later.toISOString());
        } else if (command.settle === "summary") {
          const summary = await getPointsSummary(database, shopId, memberId(command.member), later);
          settle(model, command.member, later.toISOString());
          const expected = memberOf(model, command.member);
          const expiring = model.lots
            .filter((lot) => lot.member === command.member && lot.state === "available" && lot.remaining > 0)
            .filter((lot) => lot.expiresAt !== null);
          const soonest = expiring.map((lot) => lot.expiresAt as string).sort()[0];
          const within = new Date(later.getTime() + 30 * day).toISOString();
          expect(
            {
              available: summary.available,
              pending: summary.pending,
              reserved: summary.reserved,
              nextExpiration: summary.nextExpiration,
              expiringWithin30Days: summary.expiringWithin30Days,
            },
            context(),
          ).toEqual({
            available: expected.available,
            pending: expected.pending,
            reserved: expected.reserved,
            nextExpiration:
              soonest === undefined
                ? null
                : {
                    at: soonest,
                    points: expiring
                      .filter((lot) => lot.expiresAt === soonest)
                      .reduce((sum, lot) => sum + lot.remaining, 0),
                  },
            expiringWithin30Days: expiring
              .filter((lot) => (lot.expiresAt as string) <= within)
              .reduce((sum, lot) => sum + lot.remaining, 0),
          });
        }
        await compare(model, context);
        continue;
      }

      const planned = plan(command, model, done, nowIso, at);
      if (!planned) continue;
      const before = await snapshot();
      let outcome: { result: LedgerResult | null } | { code: string };
      try {
        outcome = { result: await planned.invoke(now) };
      } catch (error) {
        if (!(error instanceof AppError)) throw new Error(`${context()}\n${String(error)}`, { cause: error });
        outcome = { code: error.code };
      }
      const draft = structuredClone(model);
      let predicted: string;
      try {
        for (const index of planned.members) settle(draft, index, nowIso);
        const result = "result" in outcome ? outcome.result : null;
        predicted = planned.apply(draft, result);
        for (const index of planned.members) settle(draft, index, nowIso);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        predicted = error.code;
      }
      const actual =
        "code" in outcome
          ? outcome.code
          : outcome.result === null
            ? "nothing"
            : outcome.result.replayed
              ? "replayed"
              : "new";
      expect(actual, context()).toBe(predicted);

      if ("code" in outcome) {
        expect(await snapshot(), `${context()}\na refused command changed the ledger`).toEqual(before);
      } else {
        model = draft;
        const result = outcome.result;
        if (result && !result.replayed) {
          await linkLots(model, result.transaction.id);
          done.push({
            invoke: planned.invoke,
            transactionId: result.transaction.id,
            members: planned.members,
            validUntil: planned.validUntil,
          });
        }
        if (result?.replayed && command.kind === "replay") {
          const original = done[command.pick % done.length];
          expect(result.transaction.id, context()).toBe(original?.transactionId);
        }
      }
      await compare(model, context);
    }
    await checkOutbox(() => `run ${run}, history:\n${log.join("\n")}`);

    /** Fills in the database ids of the lots a transaction created (a credit: one, a transfer: several). */
    async function linkLots(target: Model, transactionId: string): Promise<void> {
      const unlinked = target.lots.filter((lot) => lot.dbId === "");
      if (unlinked.length === 0) return;
      const rows = await db
        .selectFrom("ledger_lots")
        .select("id")
        .where("shop_id", "=", shopId)
        .where("transaction_id", "=", transactionId)
        .orderBy("id")
        .execute();
      expect(rows.length).toBe(unlinked.length);
      unlinked.forEach((lot, index) => {
        lot.dbId = rows[index]?.id ?? "";
      });
    }

    async function snapshot() {
      const accounts = await db
        .selectFrom("point_accounts")
        .selectAll()
        .where("shop_id", "=", shopId)
        .orderBy("member_id")
        .execute();
      const lots = await db
        .selectFrom("ledger_lots")
        .select(["id", "remaining", "state"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute();
      const reservations = await db
        .selectFrom("point_reservations")
        .select(["id", "status"])
        .where("shop_id", "=", shopId)
        .orderBy("id")
        .execute();
      const counts = await db
        .selectFrom("ledger_transactions")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("shop_id", "=", shopId)
        .executeTakeFirstOrThrow();
      const events = await db
        .selectFrom("outbox")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("shop_id", "=", shopId)
        .executeTakeFirstOrThrow();
      return { accounts, lots, reservations, transactions: Number(counts.count), events: Number(events.count) };
    }

    async function compare(expected: Model, context: () => string): Promise<void> {
      const report = await verifyLedger(db, { shopId });
      expect(report.problems, context()).toEqual([]);

      const accounts = await db.selectFrom("point_accounts").selectAll().where("shop_id", "=", shopId).execute();
      const actualMembers = memberIds.map((id) => {
        const row = accounts.find((account) => account.member_id === id);
        return {
          available: row?.available,
          pending: row?.pending,
          reserved: row?.reserved,
          earned: row?.lifetime_earned,
          spent: row?.lifetime_spent,
          expired: row?.lifetime_expired,
        };
      });
      expect(actualMembers, context()).toEqual(expected.members);

      const lots = await db
        .selectFrom("ledger_lots")
        .select(["id", "member_id", "state", "amount", "remaining", "pending_until", "expires_at"])
        .where("shop_id", "=", shopId)
        .execute();
      // Ids sort in creation order, the order of the model's lots.
      expect(
        lots.sort(byId).map((lot) => ({ ...lot, member_id: memberIds.indexOf(lot.member_id) })),
        context(),
      ).toEqual(
        expected.lots.map((lot) => ({
          id: lot.dbId,
          member_id: lot.member,
          state: lot.state,
          amount: lot.amount,
          remaining: lot.remaining,
          pending_until: lot.pendingUntil,
          expires_at: lot.expiresAt,
        })),
      );

      const reservations = await db
        .selectFrom("point_reservations")
        .select(["id", "status", "committed_amount"])
        .where("shop_id", "=", shopId)
        .execute();
      expect(reservations.sort(byId), context()).toEqual(
        expected.reservations.map((reservation) => ({
          id: reservation.dbId,
          status: reservation.status,
          committed_amount: reservation.committed,
        })),
      );

      const reversed = await db
        .selectFrom("ledger_transactions")
        .select(["id", "reversed_amount"])
        .where("shop_id", "=", shopId)
        .where("reversed_amount", ">", 0)
        .execute();
      expect(reversed.sort(byId), context()).toEqual(
        expected.transactions
          .filter((transaction) => transaction.reversed > 0)
          .map((transaction) => ({ id: transaction.id, reversed_amount: transaction.reversed }))
          .sort(byId),
      );

      const totals = await db
        .selectFrom("ledger_entries")
        .select("account")
        .select((eb) => eb.fn.sum<number>("amount").as("total"))
        .where("shop_id", "=", shopId)
        .where("member_id", "is", null)
        .groupBy("account")
        .execute();
      const system = { issued: 0, redeemed: 0, expired: 0, adjustments: 0, reversals: 0 };
      for (const row of totals) system[row.account as SystemAccount] = Number(row.total);
      expect(system, context()).toEqual(expected.system);
      // Every point the shop let out (issued, adjusted, given back) and did not take back (spent,
      // expired, reversed) is in some member's balance.
      const held = expected.members.reduce((sum, entry) => sum + entry.available + entry.pending + entry.reserved, 0);
      const outside = system.issued + system.adjustments + system.reversals + system.redeemed + system.expired;
      expect(held + outside, context()).toBe(0);

      const count = await db
        .selectFrom("ledger_transactions")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("shop_id", "=", shopId)
        .executeTakeFirstOrThrow();
      expect(Number(count.count), context()).toBe(expected.transactionCount);
    }

    /** Every ledger transaction has exactly one outbox event, of its type, carrying it. */
    async function checkOutbox(context: () => string): Promise<void> {
      const transactions = (
        await db.selectFrom("ledger_transactions").select(["id", "type"]).where("shop_id", "=", shopId).execute()
      ).sort(byId);
      const events = await db
        .selectFrom("outbox")
        .select(["type", "payload"])
        .where("shop_id", "=", shopId)
        .where("type", "like", "points.%")
        .execute();
      const carried = events
        .map((event) => {
          const payload = JSON.parse(event.payload) as { type: string; data: { transaction: { id: string } } };
          expect(payload.type).toBe(event.type);
          return { id: payload.data.transaction.id, type: event.type };
        })
        .sort(byId);
      expect(carried, context()).toEqual(
        transactions.map((transaction) => ({ id: transaction.id, type: eventTypes[transaction.type] })),
      );
    }

    /** The ledger call for a command and what it does to the model; undefined when it has no target. */
    function plan(
      command: Exclude<Command, { kind: "advance" }>,
      current: Model,
      history: Done[],
      nowIso: string,
      at: (ms: number) => string,
    ): Planned | undefined {
      const key = `${run}-${log.length}`;
      switch (command.kind) {
        case "earn":
        case "adjustUp": {
          const type = command.kind === "earn" ? "earn" : "adjust";
          const pending = command.kind === "earn" && command.pending;
          const expiresAt = command.expiresIn === null ? null : at(command.expiresIn);
          let pendingUntil =
            pending && command.kind === "earn" && command.pendingUntilIn !== null ? at(command.pendingUntilIn) : null;
          if (pendingUntil !== null && expiresAt !== null && pendingUntil >= expiresAt) pendingUntil = null;
          const input = {
            shopId,
            memberId: memberId(command.member),
            type,
            amount: command.amount,
            expiresAt,
            pending,
            pendingUntil,
            actor,
            idempotencyKey: key,
          } as const;
          return {
            members: [command.member],
            validUntil: [expiresAt, pendingUntil].filter((value) => value !== null).sort()[0] ?? null,
            invoke: (when) => tx((trx) => creditPoints(trx, input, when)),
            apply: (model, result) => {
              const account = memberOf(model, command.member);
              const lot: ModelLot = {
                key: model.lots.length,
                dbId: "",
                member: command.member,
                state: pending ? "pending" : "available",
                amount: command.amount,
                remaining: command.amount,
                pendingUntil,
                expiresAt,
                origin: model.transactionCount,
              };
              model.lots.push(lot);
              if (pending) {
                account.pending += command.amount;
              } else {
                account.available += command.amount;
                account.earned += command.amount;
              }
              model.system[type === "adjust" ? "adjustments" : "issued"] -= command.amount;
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: command.member,
                type,
                amount: command.amount,
                sign: 1,
                pending,
                lot: lot.key,
                draw: null,
              });
              return "new";
            },
          };
        }
        case "spend":
        case "adjustDown": {
          const type = command.kind === "spend" ? "redeem" : "adjust";
          const input = {
            shopId,
            memberId: memberId(command.member),
            type,
            amount: command.amount,
            actor,
            idempotencyKey: key,
          } as const;
          return {
            members: [command.member],
            validUntil: null,
            invoke: (when) => tx((trx) => debitPoints(trx, input, when)),
            apply: (model, result) => {
              const account = memberOf(model, command.member);
              if (account.available < command.amount) throw new Refusal("insufficient_points");
              const draw = drawLots(model, command.member, command.amount);
              account.available -= command.amount;
              if (type === "redeem") {
                account.spent += command.amount;
                model.system.redeemed += command.amount;
              } else {
                model.system.adjustments += command.amount;
              }
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: command.member,
                type,
                amount: command.amount,
                sign: -1,
                lot: null,
                draw,
              });
              return "new";
            },
          };
        }
        case "reserve": {
          const input = {
            shopId,
            memberId: memberId(command.member),
            amount: command.amount,
            expiresAt: at(command.expiresIn),
            actor,
            idempotencyKey: key,
          };
          return {
            members: [command.member],
            validUntil: input.expiresAt,
            invoke: (when) => tx((trx) => reservePoints(trx, input, when)),
            apply: (model, result) => {
              const account = memberOf(model, command.member);
              if (account.available < command.amount) throw new Refusal("insufficient_points");
              const draw = drawLots(model, command.member, command.amount);
              account.available -= command.amount;
              account.reserved += command.amount;
              model.reservations.push({
                dbId: (result as { reservation?: { id: string } } | null)?.reservation?.id ?? "",
                member: command.member,
                amount: command.amount,
                status: "active",
                expiresAt: input.expiresAt,
                committed: 0,
                draw,
              });
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: command.member,
                type: "reserve",
                amount: command.amount,
                sign: 0,
                lot: null,
                draw: null,
              });
              return "new";
            },
          };
        }
        case "commit":
        case "release": {
          if (current.reservations.length === 0) return undefined;
          // Mostly one of the latest reservations, which are more likely to be still active.
          const count = current.reservations.length;
          const index = command.pick % 4 === 0 ? command.pick % count : count - 1 - (command.pick % Math.min(count, 2));
          const target = current.reservations[index];
          if (!target) return undefined;
          const commitAmount = command.kind === "commit" ? command.amount : null;
          const input = {
            shopId,
            reservationId: target.dbId,
            amount: commitAmount ?? undefined,
            actor,
            idempotencyKey: key,
          };
          return {
            members: [target.member],
            validUntil: null,
            invoke: (when) =>
              tx((trx) =>
                command.kind === "commit" ? commitReservation(trx, input, when) : releaseReservation(trx, input, when),
              ),
            apply: (model, result) => {
              const reservation = model.reservations[index];
              if (!reservation) throw new Error("model: reservation gone");
              const account = memberOf(model, reservation.member);
              if (command.kind === "commit") {
                if (reservation.status === "committed") {
                  if (commitAmount !== null && commitAmount !== reservation.committed) {
                    throw new Refusal("reservation_not_active");
                  }
                  return "replayed";
                }
                if (reservation.status !== "active") throw new Refusal("reservation_not_active");
                const spend = commitAmount ?? reservation.amount;
                if (spend > reservation.amount) throw new Refusal("invalid_field_value");
                restoreLots(model, reservation.draw, reservation.amount - spend);
                account.reserved -= reservation.amount;
                account.available += reservation.amount - spend;
                account.spent += spend;
                model.system.redeemed += spend;
                reservation.status = "committed";
                reservation.committed = spend;
                addTransaction(model, {
                  id: result?.transaction.id ?? "",
                  member: reservation.member,
                  type: "redeem",
                  amount: spend,
                  sign: -1,
                  lot: null,
                  draw: reservation.draw,
                });
                return "new";
              }
              if (reservation.status === "released" || reservation.status === "expired") return "replayed";
              if (reservation.status !== "active") throw new Refusal("reservation_not_active");
              restoreLots(model, reservation.draw, reservation.amount);
              account.reserved -= reservation.amount;
              account.available += reservation.amount;
              reservation.status = "released";
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: reservation.member,
                type: "release",
                amount: reservation.amount,
                sign: 0,
                lot: null,
                draw: null,
              });
              return "new";
            },
          };
        }
        case "confirm": {
          // Mostly credits made as pending; the others are refused as not pending.
          const all = current.transactions.filter((transaction) => transaction.lot !== null);
          const pendingCredits = all.filter((transaction) => transaction.pending);
          const credits = command.pick % 4 === 0 || pendingCredits.length === 0 ? all : pendingCredits;
          if (credits.length === 0) return undefined;
          const target = credits[command.pick % credits.length];
          if (!target) return undefined;
          const input = { shopId, transactionId: target.id, actor, idempotencyKey: key };
          return {
            members: [target.member],
            validUntil: null,
            invoke: (when) => tx((trx) => confirmPending(trx, input, when)),
            apply: (model, result) => {
              const lot = lotOf(model, target.lot ?? -1);
              if (lot.state !== "pending" || lot.remaining === 0) throw new Refusal("not_pending");
              const account = memberOf(model, lot.member);
              account.pending -= lot.remaining;
              account.available += lot.remaining;
              account.earned += lot.remaining;
              lot.state = "available";
              lot.pendingUntil = null;
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: lot.member,
                type: "confirm",
                amount: lot.remaining,
                sign: 0,
                lot: null,
                draw: null,
              });
              return "new";
            },
          };
        }
        case "reverse": {
          if (current.transactions.length === 0) return undefined;
          const target = current.transactions[command.pick % current.transactions.length];
          if (!target) return undefined;
          const input = {
            shopId,
            transactionId: target.id,
            amount: command.amount ?? undefined,
            actor,
            idempotencyKey: key,
          };
          return {
            members: [target.member],
            validUntil: null,
            invoke: (when) => tx((trx) => reverseTransaction(trx, input, when)),
            apply: (model, result) => {
              const original = model.transactions.find((transaction) => transaction.id === target.id);
              if (!original) throw new Error("model: transaction gone");
              const account = memberOf(model, original.member);
              const reversible = ["earn", "import", "adjust", "redeem"].includes(original.type);
              if (!reversible) throw new Refusal("transaction_not_reversible");
              const open = original.amount - original.reversed;
              if (open === 0) throw new Refusal("already_reversed");
              const points = command.amount ?? open;
              if (points > open) throw new Refusal("invalid_field_value");
              if (original.sign > 0) {
                const lot = lotOf(model, original.lot ?? -1);
                if (lot.state === "pending") {
                  // Pending points can only be cancelled while they are still in their own lot.
                  if (lot.remaining < points) throw new Refusal("insufficient_points");
                  lot.remaining -= points;
                  account.pending -= points;
                } else {
                  if (account.available < points) throw new Refusal("insufficient_points");
                  const own = Math.min(lot.remaining, points);
                  lot.remaining -= own;
                  if (points > own) drawLots(model, original.member, points - own, lot.key);
                  account.available -= points;
                  account.earned -= points;
                }
                model.system.reversals += points;
              } else {
                if (!original.draw) throw new Error("model: debit without a draw");
                restoreLots(model, original.draw, points);
                account.available += points;
                if (original.type === "redeem") account.spent -= points;
                model.system.reversals -= points;
              }
              original.reversed += points;
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: original.member,
                type: "reverse",
                amount: points,
                sign: 0,
                lot: null,
                draw: null,
              });
              return "new";
            },
          };
        }
        case "transfer": {
          const from = command.from;
          const to = (from + 1 + command.offset) % memberCount;
          const input = { shopId, fromMemberId: memberId(from), toMemberId: memberId(to), actor, idempotencyKey: key };
          return {
            members: [from, to],
            validUntil: null,
            invoke: (when) => tx((trx) => transferAccount(trx, input, when)),
            apply: (model, result) => {
              const source = memberOf(model, from);
              const target = memberOf(model, to);
              if (
                model.reservations.some((reservation) => reservation.member === from && reservation.status === "active")
              ) {
                throw new Refusal("reservations_active");
              }
              const moving = [
                ...spendableLots(model, from),
                ...model.lots.filter((lot) => lot.member === from && lot.state === "pending" && lot.remaining > 0),
              ];
              const total = moving.reduce((sum, lot) => sum + lot.remaining, 0);
              if (total === 0) return "nothing";
              for (const lot of moving) {
                model.lots.push({
                  ...lot,
                  key: model.lots.length,
                  dbId: "",
                  member: to,
                  amount: lot.remaining,
                  origin: model.transactionCount,
                });
                lot.remaining = 0;
              }
              target.available += source.available;
              target.pending += source.pending;
              target.earned += source.earned;
              target.spent += source.spent;
              target.expired += source.expired;
              // The source keeps its lifetime totals (its history stays with it); the target adds them.
              Object.assign(source, { available: 0, pending: 0 });
              addTransaction(model, {
                id: result?.transaction.id ?? "",
                member: from,
                type: "transfer",
                amount: total,
                sign: 0,
                lot: null,
                draw: null,
              });
              return "new";
            },
          };
        }
        case "replay": {
          if (history.length === 0) return undefined;
          const original = history[command.pick % history.length];
          if (!original || (original.validUntil !== null && original.validUntil <= nowIso)) return undefined;
          return { ...original, apply: () => "replayed" };
        }
      }
    }
  }
});
