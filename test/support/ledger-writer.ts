/**
 * A child process for test/crash.test.ts: writes an endless stream of random ledger commands to
 * one shop's members until it is killed, and prints `ok <n> <command>` to stdout after each
 * command that committed a transaction of its own (n counts those, from 1). Refused commands
 * (insufficient points, a reservation no longer active) roll back and print nothing; a command
 * that returned an earlier transaction (a replay) prints `replayed <command>`.
 *
 * Run as `node --import tsx test/support/ledger-writer.ts` with
 *   WRITER_DATABASE_URL  the database (migrated, with the shop and its members)
 *   WRITER_SHOP_ID       the shop
 *   WRITER_WORKERS       commands in flight at once (default 1)
 *   WRITER_SEED          seed of the random choices (default 1)
 * Every transaction it writes has the actor { type: "admin", id: "ledger-writer" }, so the test can
 * count them; transactions Laurel posts on its own (expiry, confirmation) have the system actor.
 * Any error other than an expected refusal is printed to stderr and exits 1.
 */
import { sql } from "kysely";
import {
  type Actor,
  commitReservation,
  creditPoints,
  debitPoints,
  type LedgerResult,
  releaseReservation,
  reservePoints,
} from "../../src/modules/ledger/index.js";
import { openDatabase } from "../../src/platform/db/database.js";
import { withTransaction } from "../../src/platform/db/transaction.js";
import { AppError } from "../../src/platform/errors.js";
import { seededRandom } from "./random.js";

export const writerActor: Actor = { type: "admin", id: "ledger-writer" };

/** Refusals the random stream runs into by design; they roll back and are not errors. */
const expectedRefusals = new Set(["insufficient_points", "reservation_not_active"]);

const minute = 60_000;
const hour = 60 * minute;
/** How far the writer's clock moves per command: a run of a few hundred spans days, so lots expire. */
const tick = 10 * minute;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const databaseUrl = required("WRITER_DATABASE_URL");
const shopId = required("WRITER_SHOP_ID");
const workers = Number(process.env.WRITER_WORKERS ?? "1");
const random = seededRandom(Number(process.env.WRITER_SEED ?? "1"));
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;

const database = openDatabase(databaseUrl, { poolSize: workers });

const memberIds = (
  await database.db.selectFrom("members").select("id").where("shop_id", "=", shopId).orderBy("id").execute()
).map((row) => row.id);
if (memberIds.length === 0) throw new Error(`shop ${shopId} has no members`);

// A later run on the same database picks up where the last one stopped: its clock starts after the
// newest transaction, and the reservations it left active can be committed or released.
const latest = await sql<{ latest: string | null }>`
  select max(created_at) as latest from ledger_transactions where shop_id = ${shopId}`.execute(database.db);
let clock = new Date(latest.rows[0]?.latest ?? "2026-01-01T00:00:00.000Z").getTime();
const nextNow = () => {
  clock += tick;
  return new Date(clock);
};

interface OpenReservation {
  id: string;
  amount: number;
}
const openReservations: OpenReservation[] = (
  await database.db
    .selectFrom("point_reservations")
    .select(["id", "amount"])
    .where("shop_id", "=", shopId)
    .where("status", "=", "active")
    .execute()
).map((row) => ({ id: row.id, amount: row.amount }));

/** Takes a random open reservation off the list, so no two workers settle the same one. */
function takeReservation(): OpenReservation | undefined {
  if (openReservations.length === 0) return undefined;
  return openReservations.splice(Math.floor(random() * openReservations.length), 1)[0];
}

type Command = "earn" | "earn-pending" | "redeem" | "reserve" | "commit" | "release";

/** One random command in its own transaction; returns what it did, or null when it was refused. */
async function runOne(): Promise<{ command: Command; result: LedgerResult } | null> {
  const now = nextNow();
  const memberId = pick(memberIds);
  const roll = random();
  const details = { actor: writerActor };
  try {
    if (roll < 0.3) {
      const expiresAt = new Date(now.getTime() + between(1, 200) * hour).toISOString();
      const result = await withTransaction(database, (trx) =>
        creditPoints(trx, { ...details, shopId, memberId, type: "earn", amount: between(1, 500), expiresAt }, now),
      );
      return { command: "earn", result };
    }
    if (roll < 0.37) {
      const pendingUntil = new Date(now.getTime() + between(1, 24) * hour).toISOString();
      const expiresAt = new Date(now.getTime() + between(25, 200) * hour).toISOString();
      const result = await withTransaction(database, (trx) =>
        creditPoints(
          trx,
          {
            ...details,
            shopId,
            memberId,
            type: "earn",
            amount: between(1, 500),
            expiresAt,
            pending: true,
            pendingUntil,
          },
          now,
        ),
      );
      return { command: "earn-pending", result };
    }
    if (roll < 0.57) {
      const result = await withTransaction(database, (trx) =>
        debitPoints(trx, { ...details, shopId, memberId, type: "redeem", amount: between(1, 300) }, now),
      );
      return { command: "redeem", result };
    }
    const reservation = roll < 0.77 ? undefined : takeReservation();
    if (!reservation) {
      const expiresAt = new Date(now.getTime() + between(1, 48) * hour).toISOString();
      const amount = between(1, 300);
      const result = await withTransaction(database, (trx) =>
        reservePoints(trx, { ...details, shopId, memberId, amount, expiresAt }, now),
      );
      openReservations.push({ id: result.reservation.id, amount });
      return { command: "reserve", result };
    }
    if (roll < 0.88) {
      // Half the commits spend all of it, half a part (releasing the rest).
      const amount = random() < 0.5 ? undefined : between(1, reservation.amount);
      const result = await withTransaction(database, (trx) =>
        commitReservation(trx, { ...details, shopId, reservationId: reservation.id, amount }, now),
      );
      return { command: "commit", result };
    }
    const result = await withTransaction(database, (trx) =>
      releaseReservation(trx, { ...details, shopId, reservationId: reservation.id }, now),
    );
    return { command: "release", result };
  } catch (error) {
    if (error instanceof AppError && expectedRefusals.has(error.code)) return null;
    throw error;
  }
}

let committed = 0;

async function work(): Promise<never> {
  for (;;) {
    const done = await runOne();
    if (!done) continue;
    if (done.result.replayed) {
      process.stdout.write(`replayed ${done.command}\n`);
      continue;
    }
    committed += 1;
    // A pipe write is synchronous on Linux: the line is in the pipe before the next command starts.
    process.stdout.write(`ok ${committed} ${done.command}\n`);
  }
}

try {
  await Promise.all(Array.from({ length: workers }, work));
} catch (error) {
  process.stderr.write(`ledger-writer failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
}
