import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import SqliteDatabase from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { buildApp } from "../src/app.js";
import { creditPoints, verifyLedger } from "../src/modules/ledger/index.js";
import { createMember } from "../src/modules/members/index.js";
import { createShopWithKeys } from "../src/modules/shops/index.js";
import { systemClock } from "../src/platform/clock.js";
import { loadConfig } from "../src/platform/config.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "../src/platform/db/database.js";
import { migrateToLatest } from "../src/platform/db/migrate.js";
import { withTransaction } from "../src/platform/db/transaction.js";
import { newId } from "../src/platform/ids.js";
import { createLogger } from "../src/platform/logger.js";
import {
  type BenchDatabase,
  type BenchReport,
  benchDialects,
  createBenchDatabase,
  type Measurement,
  measurement,
} from "./support.js";

const memberCount = 1_000;
const earnAmount = 10;
const batchSize = 1_000;
const batchLabel = batchSize.toLocaleString("en-US");
/** PostgreSQL's concurrent mode: a single stream spends most of its time waiting on round trips. */
const postgresWorkers = 8;
const warmUpSeconds = 0.5;
/** Seconds a side per figure, split into rounds of about a second that alternate Laurel and the baseline. */
const measureSeconds = 3;
/** A 1,000-earn transaction takes about a second on PostgreSQL: more of them steady the figure. */
const batchMeasureSeconds = 6;
const httpConnections = 50;
const httpWarmUpSeconds = 1;
const httpSeconds = 5;
const yearMs = 365 * 24 * 60 * 60 * 1000;

/** One fresh database with a shop and its members, written by Laurel's own code (not measured). */
interface Fixture {
  target: BenchDatabase;
  database: DatabaseHandle;
  shopId: string;
  secretKey: string;
  memberIds: string[];
}

async function createFixture(dialect: Dialect): Promise<Fixture> {
  const target = await createBenchDatabase(dialect);
  const database = openDatabase(target.url);
  try {
    await migrateToLatest(database.db);
    const now = systemClock.now();
    const created = await withTransaction(database, (trx) =>
      createShopWithKeys(
        trx,
        { name: "Bench Coffee", baseCurrency: "EUR", timezone: "Europe/Berlin", defaultLocale: "de-DE" },
        now,
      ),
    );
    const shopId = created.shop.id;
    const memberIds = await withTransaction(database, async (trx) => {
      const ids: string[] = [];
      for (let index = 0; index < memberCount; index++) ids.push((await createMember(trx, { shopId }, now)).id);
      return ids;
    });
    return { target, database, shopId, secretKey: created.secretKey.token, memberIds };
  } catch (error) {
    await database.close();
    await target.drop();
    throw error;
  }
}

async function dropFixture(fixture: Fixture | undefined): Promise<void> {
  if (!fixture) return;
  await fixture.database.close();
  await fixture.target.drop();
}

/** Hands out members round-robin, so concurrent workers (almost) never wait on one member's lock. */
function rotation(memberIds: string[]): () => string {
  let next = 0;
  return () => memberIds[next++ % memberIds.length] as string;
}

/**
 * A benchmark that corrupts the ledger must not report a number, nor one that did not write what it
 * counted: every committed earn is one ledger transaction (when `committed` is known).
 */
async function assertLedgerSound(
  database: DatabaseHandle,
  shopId: string,
  label: string,
  committed?: number,
): Promise<void> {
  const report = await verifyLedger(database.db, { shopId });
  if (committed !== undefined && report.transactions !== committed) {
    throw new Error(`${label}: counted ${committed} earns but the ledger holds ${report.transactions} transactions`);
  }
  if (report.problems.length > 0) {
    const sample = report.problems
      .slice(0, 5)
      .map((problem) => `${problem.check} ${problem.subject}: ${problem.detail}`)
      .join("; ");
    throw new Error(`${label}: verifyLedger found ${report.problems.length} problems, e.g. ${sample}`);
  }
}

interface Run {
  earns: number;
  milliseconds: number;
}

/**
 * Runs `step` in `workers` concurrent loops for `seconds`. Each step reports how many earns it
 * committed; a step that has started always finishes and is counted, and so is its time.
 */
async function forDuration(seconds: number, workers: number, step: (worker: number) => Promise<number>): Promise<Run> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let earns = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < deadline) {
        // Not `earns += await …`: that reads `earns` before the await and drops other workers' counts.
        const committed = await step(worker);
        earns += committed;
      }
    }),
  );
  return { earns, milliseconds: performance.now() - started };
}

/** The same for a synchronous step (better-sqlite3), so the baseline pays no promise per earn. */
function forDurationSync(seconds: number, step: () => number): Run {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let earns = 0;
  while (performance.now() < deadline) earns += step();
  return { earns, milliseconds: performance.now() - started };
}

type Runner = (seconds: number) => Promise<Run> | Run;

/**
 * Earns per second of Laurel and of the baseline, measured in alternating rounds (Laurel first,
 * then the baseline first, …) after a warm-up of each, so a slow patch of a shared machine weighs
 * on both figures rather than on one.
 */
async function compare(
  laurel: Runner,
  baseline: Runner,
  seconds: number,
): Promise<{ laurel: number; baseline: number }> {
  await laurel(warmUpSeconds);
  await baseline(warmUpSeconds);
  const totals = { laurel: { earns: 0, milliseconds: 0 }, baseline: { earns: 0, milliseconds: 0 } };
  const add = (total: Run, run: Run) => {
    total.earns += run.earns;
    total.milliseconds += run.milliseconds;
  };
  const rounds = Math.max(2, Math.round(seconds));
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      add(totals.laurel, await laurel(seconds / rounds));
      add(totals.baseline, await baseline(seconds / rounds));
    } else {
      add(totals.baseline, await baseline(seconds / rounds));
      add(totals.laurel, await laurel(seconds / rounds));
    }
  }
  const perSecond = (total: Run) => total.earns / (total.milliseconds / 1000);
  return { laurel: perSecond(totals.laurel), baseline: perSecond(totals.baseline) };
}

// ---------------------------------------------------------------------------------------------
// Laurel: the service layer, exactly as a route or the CLI calls it.

function laurelEarner(fixture: Fixture, expiresAt: string) {
  const nextMember = rotation(fixture.memberIds);
  const earn = (trx: Parameters<typeof creditPoints>[0]) =>
    creditPoints(
      trx,
      {
        shopId: fixture.shopId,
        memberId: nextMember(),
        type: "earn",
        amount: earnAmount,
        expiresAt,
        actor: { type: "system", id: null },
      },
      new Date(),
    );
  let committed = 0;
  return {
    one: async () => {
      await withTransaction(fixture.database, earn);
      committed += 1;
      return 1;
    },
    batch: async () => {
      await withTransaction(fixture.database, async (trx) => {
        for (let index = 0; index < batchSize; index++) await earn(trx);
      });
      committed += batchSize;
      return batchSize;
    },
    committed: () => committed,
  };
}

// ---------------------------------------------------------------------------------------------
// Baseline: the same rows written with hand-written SQL, no query builder, no domain layer.

interface AccountRow {
  available: number;
  pending: number;
  reserved: number;
  lifetime_earned: number;
  lifetime_spent: number;
  lifetime_expired: number;
  next_due_at: string | null;
}

const lockSql = "update point_accounts set version = version + 1 where shop_id = ? and member_id = ? returning *";
const insertLotSql =
  "insert into ledger_lots (shop_id, id, member_id, transaction_id, state, amount, remaining, pending_until, expires_at, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const insertTransactionSql =
  "insert into ledger_transactions (shop_id, id, member_id, type, amount, reason, reference, actor_type, actor_id, metadata, idempotency_key, reverses_transaction_id, confirms_transaction_id, reversed_amount, reservation_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const insertEntriesSql =
  "insert into ledger_entries (shop_id, transaction_id, line, account, member_id, amount) values (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)";
const insertMovementSql =
  "insert into ledger_lot_movements (shop_id, transaction_id, lot_id, seq, amount) values (?, ?, ?, ?, ?)";
const insertOutboxSql =
  "insert into outbox (shop_id, id, type, subject_type, subject_id, payload, created_at, dispatched_at) values (?, ?, ?, ?, ?, ?, ?, ?)";
const saveAccountSql =
  "update point_accounts set available = ?, pending = ?, reserved = ?, lifetime_earned = ?, lifetime_spent = ?, lifetime_expired = ?, next_due_at = ?, updated_at = ? where shop_id = ? and member_id = ?";

/** The parameters of the six writes that follow the account lock: the rows Laurel writes for an earn. */
function earnParameters(shopId: string, memberId: string, account: AccountRow, expiresAt: string) {
  const now = new Date();
  const at = now.toISOString();
  const transactionId = newId("ledgerTransaction", now);
  const lotId = newId("lot", now);
  const eventId = newId("outboxEvent", now);
  const available = account.available + earnAmount;
  const lifetimeEarned = account.lifetime_earned + earnAmount;
  const nextDueAt = account.next_due_at !== null && account.next_due_at < expiresAt ? account.next_due_at : expiresAt;
  // The event payload Laurel writes, field for field, so the outbox rows are the same size.
  const payload = JSON.stringify({
    id: eventId,
    type: "points.earned",
    created_at: at,
    shop_id: shopId,
    data: {
      member_id: memberId,
      transaction: {
        id: transactionId,
        object: "points_transaction",
        member_id: memberId,
        type: "earn",
        amount: earnAmount,
        reason: null,
        reference: null,
        actor: { type: "system", id: null },
        metadata: {},
        reverses_transaction_id: null,
        confirms_transaction_id: null,
        reversed_amount: 0,
        reservation_id: null,
        created_at: at,
      },
      balances: [
        {
          member_id: memberId,
          available,
          pending: account.pending,
          reserved: account.reserved,
          lifetime_earned: lifetimeEarned,
          lifetime_spent: account.lifetime_spent,
          lifetime_expired: account.lifetime_expired,
        },
      ],
      lot: {
        id: lotId,
        object: "points_lot",
        member_id: memberId,
        transaction_id: transactionId,
        state: "available",
        amount: earnAmount,
        remaining: earnAmount,
        pending_until: null,
        expires_at: expiresAt,
        created_at: at,
      },
    },
  });
  return {
    lot: [shopId, lotId, memberId, transactionId, "available", earnAmount, earnAmount, null, expiresAt, at],
    // In the column order of insertTransactionSql: reason, reference, actor, metadata, idempotency key, links.
    transaction: [
      ...[shopId, transactionId, memberId, "earn", earnAmount],
      ...[null, null, "system", null, "{}", null],
      ...[null, null, 0, null, at],
    ],
    entries: [
      ...[shopId, transactionId, 1, "issued", null, -earnAmount],
      ...[shopId, transactionId, 2, "available", memberId, earnAmount],
    ],
    movement: [shopId, transactionId, lotId, 1, earnAmount],
    outbox: [shopId, eventId, "points.earned", "member", memberId, payload, at, null],
    account: [
      available,
      account.pending,
      account.reserved,
      lifetimeEarned,
      account.lifetime_spent,
      account.lifetime_expired,
      nextDueAt,
      at,
      shopId,
      memberId,
    ],
  };
}

/** better-sqlite3 on its own connection with Laurel's pragmas, prepared statements, BEGIN IMMEDIATE. */
function sqliteBaseline(fixture: Fixture, expiresAt: string) {
  const connection = new SqliteDatabase(fixture.target.url.slice("file:".length));
  connection.pragma("journal_mode = WAL");
  connection.pragma("synchronous = NORMAL");
  connection.pragma("foreign_keys = ON");
  connection.pragma("busy_timeout = 5000");
  const lock = connection.prepare<[string, string], AccountRow>(lockSql);
  const insertLot = connection.prepare(insertLotSql);
  const insertTransaction = connection.prepare(insertTransactionSql);
  const insertEntries = connection.prepare(insertEntriesSql);
  const insertMovement = connection.prepare(insertMovementSql);
  const insertOutbox = connection.prepare(insertOutboxSql);
  const saveAccount = connection.prepare(saveAccountSql);
  const nextMember = rotation(fixture.memberIds);
  const { shopId } = fixture;

  const earn = () => {
    const memberId = nextMember();
    const account = lock.get(shopId, memberId);
    if (!account) throw new Error(`no account for ${memberId}`);
    const rows = earnParameters(shopId, memberId, account, expiresAt);
    insertLot.run(rows.lot);
    insertTransaction.run(rows.transaction);
    insertEntries.run(rows.entries);
    insertMovement.run(rows.movement);
    insertOutbox.run(rows.outbox);
    saveAccount.run(rows.account);
  };
  const one = connection.transaction(earn);
  const batch = connection.transaction(() => {
    for (let index = 0; index < batchSize; index++) earn();
  });
  let committed = 0;
  return {
    one: () => {
      one.immediate();
      committed += 1;
      return 1;
    },
    batch: () => {
      batch.immediate();
      committed += batchSize;
      return batchSize;
    },
    committed: () => committed,
    close: () => connection.close(),
  };
}

/** `?` placeholders to PostgreSQL's `$1, $2, …`. */
function numbered(text: string): string {
  let index = 0;
  return text.replace(/\?/g, () => `$${++index}`);
}

const postgresStatements = {
  lock: numbered(lockSql),
  insertLot: numbered(insertLotSql),
  insertTransaction: numbered(insertTransactionSql),
  insertEntries: numbered(insertEntriesSql),
  insertMovement: numbered(insertMovementSql),
  insertOutbox: numbered(insertOutboxSql),
  saveAccount: numbered(saveAccountSql),
};

/** node-postgres clients of their own, named (server-side prepared) statements, BEGIN/COMMIT. */
async function postgresBaseline(fixture: Fixture, expiresAt: string, clients: number) {
  const connections: pg.Client[] = [];
  try {
    for (let index = 0; index < clients; index++) {
      const client = new pg.Client({ connectionString: fixture.target.url });
      connections.push(client);
      await client.connect();
    }
  } catch (error) {
    await Promise.all(connections.map((client) => client.end()));
    throw error;
  }
  const nextMember = rotation(fixture.memberIds);
  const { shopId } = fixture;
  let committed = 0;
  const run = (client: pg.Client, name: keyof typeof postgresStatements, values: unknown[]) =>
    client.query({ name, text: postgresStatements[name], values });

  const earn = async (client: pg.Client) => {
    const memberId = nextMember();
    const locked = await client.query<AccountRow>({
      name: "lock",
      text: postgresStatements.lock,
      values: [shopId, memberId],
    });
    const account = locked.rows[0];
    if (!account) throw new Error(`no account for ${memberId}`);
    const rows = earnParameters(shopId, memberId, account, expiresAt);
    await run(client, "insertLot", rows.lot);
    await run(client, "insertTransaction", rows.transaction);
    await run(client, "insertEntries", rows.entries);
    await run(client, "insertMovement", rows.movement);
    await run(client, "insertOutbox", rows.outbox);
    await run(client, "saveAccount", rows.account);
  };
  const inTransaction = async (client: pg.Client, count: number) => {
    await client.query("begin");
    try {
      for (let index = 0; index < count; index++) await earn(client);
    } catch (error) {
      await client.query("rollback");
      throw error;
    }
    await client.query("commit");
    committed += count;
    return count;
  };
  const clientOf = (worker: number) => connections[worker] as pg.Client;
  return {
    one: (worker: number) => inTransaction(clientOf(worker), 1),
    batch: (worker: number) => inTransaction(clientOf(worker), batchSize),
    committed: () => committed,
    close: () => Promise.all(connections.map((client) => client.end())),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP: the real app, POST /v1/members/{id}/points/adjustments under autocannon.

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return `http://127.0.0.1:${address.port}`;
}

/**
 * autocannon runs in a worker thread, so a function that picks the member per request has to come
 * from a file it can require. Each request takes the next member, whichever connection sends it.
 */
function writeMemberRotation(directory: string, memberIds: string[]): string {
  const path = join(directory, "rotate-members.cjs");
  const paths = memberIds.map((id) => `/v1/members/${id}/points/adjustments`);
  writeFileSync(
    path,
    `"use strict";\nconst paths = ${JSON.stringify(paths)};\nlet next = 0;\n` +
      "module.exports = (request) => {\n  request.path = paths[next++ % paths.length];\n  return request;\n};\n",
  );
  return path;
}

async function fireAdjustments(url: string, token: string, setupRequest: string, seconds: number): Promise<number> {
  const result = await autocannon({
    url,
    connections: httpConnections,
    duration: seconds,
    workers: 1,
    requests: [
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ amount: earnAmount, reason: "bench" }),
        // A file path in worker mode; the typings only know the in-process function form.
        setupRequest: setupRequest as unknown as autocannon.Request["setupRequest"],
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `POST adjustments: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts in ${seconds} s`,
    );
  }
  return result.requests.average;
}

async function measureHttp(fixture: Fixture, config: ReturnType<typeof loadConfig>): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), "laurel-bench-ledger-"));
  let app: FastifyInstance | undefined;
  try {
    const setupRequest = writeMemberRotation(directory, fixture.memberIds);
    app = await buildApp({ config, database: fixture.database, clock: systemClock, logger: createLogger(config) });
    const origin = await listen(app);
    const probe = await fetch(`${origin}/v1/members/${fixture.memberIds[0]}/points/adjustments`, {
      method: "POST",
      headers: { authorization: `Bearer ${fixture.secretKey}`, "content-type": "application/json" },
      body: JSON.stringify({ amount: earnAmount, reason: "bench" }),
    });
    if (probe.status !== 201) throw new Error(`POST adjustments answered ${probe.status}: ${await probe.text()}`);
    await fireAdjustments(origin, fixture.secretKey, setupRequest, httpWarmUpSeconds);
    return await fireAdjustments(origin, fixture.secretKey, setupRequest, httpSeconds);
  } finally {
    await app?.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function measureDialect(dialect: Dialect): Promise<Measurement[]> {
  const expiresAt = new Date(Date.now() + yearMs).toISOString();
  const measurements: Measurement[] = [];
  const add = (name: string, laurel: number, baseline: number) =>
    measurements.push(measurement({ dialect, name, unit: "tx/s", better: "higher", laurel, baseline }));

  let laurelFixture: Fixture | undefined;
  let baselineFixture: Fixture | undefined;
  try {
    // The Laurel database's URL is only known once it exists; the app's config is built from it.
    laurelFixture = await createFixture(dialect);
    const config = loadConfig(
      {
        LAUREL_DATABASE_URL: laurelFixture.target.url,
        LAUREL_RATE_LIMIT: "0",
        LAUREL_LOG_LEVEL: "silent",
        LAUREL_DEMO_SHOP: "false",
      },
      { isTerminal: false },
    );
    baselineFixture = await createFixture(dialect);
    const laurel = laurelEarner(laurelFixture, expiresAt);
    const laurelDb = laurelFixture.database;
    const shopId = laurelFixture.shopId;

    const service = async (name: string, laurelRun: Runner, baselineRun: Runner, seconds = measureSeconds) => {
      const figures = await compare(laurelRun, baselineRun, seconds);
      await assertLedgerSound(laurelDb, shopId, name, laurel.committed());
      add(name, figures.laurel, figures.baseline);
      return figures;
    };
    const laurelRunner =
      (step: () => Promise<number>, workers = 1): Runner =>
      (seconds) =>
        forDuration(seconds, workers, step);

    let httpBaseline: { name: string; figure: number };
    let baselineCommitted: number;
    if (dialect === "sqlite") {
      const raw = sqliteBaseline(baselineFixture, expiresAt);
      try {
        const one = await service("earn, one per transaction (service layer)", laurelRunner(laurel.one), (seconds) =>
          forDurationSync(seconds, raw.one),
        );
        httpBaseline = { name: "raw one per transaction", figure: one.baseline };
        await service(
          `earn, ${batchLabel} per transaction (service layer)`,
          laurelRunner(laurel.batch),
          (seconds) => forDurationSync(seconds, raw.batch),
          batchMeasureSeconds,
        );
        baselineCommitted = raw.committed();
      } finally {
        raw.close();
      }
    } else {
      const raw = await postgresBaseline(baselineFixture, expiresAt, postgresWorkers);
      try {
        await service("earn, one per transaction, 1 connection (service layer)", laurelRunner(laurel.one), (seconds) =>
          forDuration(seconds, 1, raw.one),
        );
        const concurrent = await service(
          `earn, one per transaction, ${postgresWorkers} concurrent (service layer)`,
          laurelRunner(laurel.one, postgresWorkers),
          (seconds) => forDuration(seconds, postgresWorkers, raw.one),
        );
        httpBaseline = { name: `raw one per transaction, ${postgresWorkers} concurrent`, figure: concurrent.baseline };
        await service(
          `earn, ${batchLabel} per transaction (service layer)`,
          laurelRunner(laurel.batch),
          (seconds) => forDuration(seconds, 1, raw.batch),
          batchMeasureSeconds,
        );
        baselineCommitted = raw.committed();
      } finally {
        await raw.close();
      }
    }
    await assertLedgerSound(baselineFixture.database, baselineFixture.shopId, "raw baseline", baselineCommitted);

    const laurelHttp = await measureHttp(laurelFixture, config);
    await assertLedgerSound(laurelDb, shopId, "HTTP");
    add(
      `earn through HTTP, ${httpConnections} connections (baseline: ${httpBaseline.name})`,
      laurelHttp,
      httpBaseline.figure,
    );
    return measurements;
  } finally {
    await dropFixture(laurelFixture);
    await dropFixture(baselineFixture);
  }
}

/** Points earned per second through creditPoints and over HTTP, against the same rows in raw SQL. */
export async function run(): Promise<BenchReport> {
  const measurements: Measurement[] = [];
  for (const dialect of benchDialects) measurements.push(...(await measureDialect(dialect)));
  return {
    title: `Earning points: ${earnAmount} points to one of ${memberCount} members per ledger transaction; service figures ${measureSeconds} s a side (${batchMeasureSeconds} s for ${batchLabel} per transaction) in alternating rounds of about a second after ${warmUpSeconds} s of warm-up, HTTP ${httpSeconds} s after ${httpWarmUpSeconds} s`,
    notes: [
      "tx/s counts ledger transactions (earns) per second, whether one or 1,000 share a database transaction; over HTTP each request is one.",
      "Laurel: creditPoints (type earn, expiring in a year, system actor) inside withTransaction, members taken round-robin.",
      "Baseline: the same rows (account lock, lot, transaction, 2 entries in one insert, lot movement, outbox event with the same payload, account update) in hand-written SQL on a second fresh database with the same schema and members; ids from newId.",
      "SQLite baseline: better-sqlite3 prepared statements on its own connection with Laurel's pragmas (WAL, synchronous=NORMAL, foreign_keys), BEGIN IMMEDIATE per transaction.",
      "PostgreSQL baseline: node-postgres clients with named (server-side prepared) statements, BEGIN/COMMIT per transaction; concurrent runs use one client per worker, Laurel its pool of 10.",
      `HTTP: the real app (rate limiting off, logging silent), POST /v1/members/{id}/points/adjustments {"amount":${earnAmount},"reason":"bench"} with the secret key, a new member per request, autocannon ${httpConnections} connections in a worker thread; this route posts an adjust credit, not an earn, with the same rows.`,
      "HTTP has no raw HTTP counterpart: its baseline is the raw one-per-transaction figure of the same run (PostgreSQL: the concurrent one).",
      "verifyLedger checks the Laurel database after every Laurel run and the baseline database once, and that each holds exactly the transactions counted; a problem fails the bench.",
      `PostgreSQL, ${batchLabel} per transaction: one transaction takes about a second, so the ${batchMeasureSeconds} s hold few of them and this figure varies most between runs.`,
    ],
    measurements,
  };
}
