import { once } from "node:events";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import SqliteDatabase from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { buildApp } from "../src/app.js";
import { verifyLedger } from "../src/modules/ledger/index.js";
import { createMember } from "../src/modules/members/index.js";
import { createRule } from "../src/modules/rules/service.js";
import { createShopWithKeys } from "../src/modules/shops/index.js";
import { addMonths, systemClock } from "../src/platform/clock.js";
import { loadConfig } from "../src/platform/config.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "../src/platform/db/database.js";
import { migrateToLatest } from "../src/platform/db/migrate.js";
import { withTransaction } from "../src/platform/db/transaction.js";
import { newId } from "../src/platform/ids.js";
import { createLogger } from "../src/platform/logger.js";
import { seededRandom } from "../test/support/random.js";
import {
  type BenchDatabase,
  type BenchReport,
  benchDialects,
  createBenchDatabase,
  type Measurement,
  measurement,
} from "./support.js";

const memberCount = 2_000;
const batchSize = 1_000;
const batchLabel = batchSize.toLocaleString("en-US");
/** Batches of the one-client figure (and raw transactions of the baseline), after one warm-up batch each. */
const measuredBatches: Record<Dialect, number> = { sqlite: 20, postgres: 6 };
/** The two-client figure: this many batches per client, sent at the same time. */
const concurrentClients = 2;
const concurrentBatchesPerClient: Record<Dialect, number> = { sqlite: 5, postgres: 2 };
/** Laurel and the baseline take turns in rounds of this many batches, so a slow patch weighs on both. */
const roundBatches = 5;
const shopCurrency = "USD";
/** Not UTC, so the weekend multiplier depends on the shop's local day as it does in a real shop. */
const shopTimezone = "America/New_York";
/** Orders happened over the last two weeks: some on weekends, none in the future. */
const spreadDays = 14;
const sampleMembers = 50;
const seed = 20_261_123;
const dayMs = 24 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// The earning rules, created through POST /v1/rules (the baseline database gets the same ones).

const weekendMultiplier = {
  numerator: 2,
  label: "Weekend",
  when: { field: "event.weekday", op: "weekday_in", value: ["sat", "sun"] },
};

const rules = [
  {
    name: "10 points per dollar",
    event_type: "order.paid",
    reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: shopCurrency } },
  },
  {
    name: "First order bonus",
    event_type: "order.paid",
    conditions: { field: "order.is_first_order", op: "eq", value: true },
    reward: { type: "fixed", points: 100 },
  },
  {
    name: "50 points on orders from $50, doubled on weekends",
    event_type: "order.paid",
    conditions: { field: "order.subtotal", op: "gte", value: { amount: 5000, currency: shopCurrency } },
    reward: { type: "fixed", points: 50 },
    multipliers: [weekendMultiplier],
  },
];

// ---------------------------------------------------------------------------------------------
// The orders: generated before anything is timed, with the points the rules must give each.

interface Order {
  /** Index into a fixture's member ids: both databases get the same orders for "the same" members. */
  member: number;
  number: number;
  total: number;
  subtotal: number;
  productIds: string[];
  occurredAt: string;
  /** The points each rule gives, by rule index (absent: the rule does not match). */
  awards: Array<{ rule: number; points: number }>;
  points: number;
}

const weekdayFormat = new Intl.DateTimeFormat("en-US", { timeZone: shopTimezone, weekday: "short" });

class OrderGenerator {
  private readonly random = seededRandom(seed);
  private readonly hasOrdered = new Set<number>();
  private next = 1;
  /** Points every member must have got, by member index. */
  readonly expectedByMember = new Map<number, number>();

  constructor(private readonly startedAt: number) {}

  /**
   * A batch of orders from members with `member % lanes === lane`: concurrent clients get disjoint
   * members, so each member's orders arrive in generation order and "first order" is known here.
   */
  batch(lane = 0, lanes = 1): Order[] {
    return Array.from({ length: batchSize }, () => this.order(lane, lanes));
  }

  private order(lane: number, lanes: number): Order {
    const { random } = this;
    const member = Math.floor(random() * (memberCount / lanes)) * lanes + lane;
    const total = 2_000 + Math.floor(random() * 12_001);
    const subtotal = Math.floor(total * 0.9);
    const productIds = Array.from(
      { length: 1 + Math.floor(random() * 3) },
      () => `sku-${1 + Math.floor(random() * 200)}`,
    );
    // At least a minute in the past, so no order is ahead of the app's clock.
    const occurred = new Date(this.startedAt - 60_000 - Math.floor(random() * spreadDays * dayMs));
    const weekday = weekdayFormat.format(occurred);
    const first = !this.hasOrdered.has(member);
    this.hasOrdered.add(member);
    const awards = [{ rule: 0, points: Math.floor((subtotal * 10) / 100) }];
    if (first) awards.push({ rule: 1, points: 100 });
    if (subtotal >= 5_000) awards.push({ rule: 2, points: weekday === "Sat" || weekday === "Sun" ? 100 : 50 });
    const points = awards.reduce((sum, award) => sum + award.points, 0);
    this.expectedByMember.set(member, (this.expectedByMember.get(member) ?? 0) + points);
    return {
      member,
      number: this.next++,
      total,
      subtotal,
      productIds,
      occurredAt: occurred.toISOString(),
      awards,
      points,
    };
  }
}

function eventBody(order: Order, memberId: string) {
  return {
    type: "order.paid",
    external_id: `order-${order.number}-paid`,
    member_id: memberId,
    occurred_at: order.occurredAt,
    order: {
      id: String(order.number),
      currency: shopCurrency,
      total: order.total,
      subtotal: order.subtotal,
      product_ids: order.productIds,
    },
  };
}

function requestBody(orders: Order[], memberIds: string[]): string {
  return JSON.stringify({ events: orders.map((order) => eventBody(order, memberIds[order.member] as string)) });
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a fresh database with a USD shop, its members and the three rules.

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
        { name: "Bench Outfitters", baseCurrency: shopCurrency, timezone: shopTimezone, defaultLocale: "en-US" },
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

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return `http://127.0.0.1:${address.port}`;
}

/** The rules through the API, as a shop would create them; returns their ids in `rules` order. */
async function postRules(origin: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  for (const rule of rules) {
    const response = await fetch(`${origin}/v1/rules`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(rule),
    });
    const body = (await response.json()) as { id?: string; status?: string };
    if (response.status !== 201 || body.status !== "active" || !body.id) {
      throw new Error(`POST /v1/rules answered ${response.status}: ${JSON.stringify(body)}`);
    }
    ids.push(body.id);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// The HTTP client: a worker thread, so sending requests and reading the (large) answers does not
// share the server's event loop. It times each request from sending to the last byte of the answer.

const clientSource = `
const { parentPort, workerData } = require("node:worker_threads");
const { performance } = require("node:perf_hooks");
const { url, token, bodies } = workerData;
async function send(index) {
  const started = performance.now();
  let status;
  let text;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      body: bodies[index],
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    return { index, ms: performance.now() - started, error: String(error) };
  }
  const ms = performance.now() - started;
  if (status !== 200) return { index, ms, error: "HTTP " + status + ": " + text.slice(0, 1000) };
  const answer = JSON.parse(text);
  const refused = answer.data.find((item) => item.status !== "created");
  return {
    index,
    ms,
    created: answer.created,
    error: refused ? "not created: " + JSON.stringify(refused).slice(0, 1000) : null,
  };
}
parentPort.on("message", async (lanes) => {
  const started = performance.now();
  const results = await Promise.all(
    lanes.map(async (indexes) => {
      const out = [];
      for (const index of indexes) out.push(await send(index));
      return out;
    }),
  );
  parentPort.postMessage({ ms: performance.now() - started, results: results.flat() });
});
`;

interface SendResult {
  index: number;
  ms: number;
  created?: number;
  error?: string | null;
}

class BatchClient {
  private readonly worker: Worker;

  constructor(url: string, token: string, bodies: string[]) {
    this.worker = new Worker(clientSource, { eval: true, workerData: { url, token, bodies } });
  }

  /** Sends the batches at `lanes[i]` one after the other on each lane, the lanes at the same time. */
  async send(lanes: number[][]): Promise<{ ms: number; latencies: number[]; orders: number }> {
    const answer = once(this.worker, "message");
    this.worker.postMessage(lanes);
    const [reply] = (await answer) as [{ ms: number; results: SendResult[] }];
    let orders = 0;
    for (const result of reply.results) {
      if (result.error) throw new Error(`POST /v1/events/batch, batch ${result.index}: ${result.error}`);
      if (result.created !== batchSize) {
        throw new Error(`POST /v1/events/batch, batch ${result.index}: created ${result.created} of ${batchSize}`);
      }
      orders += batchSize;
    }
    return { ms: reply.ms, latencies: reply.results.map((result) => result.ms), orders };
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Baseline: the rows Laurel wrote for one real order, copied column for column, in hand-written
// SQL with prepared statements, 1,000 orders per database transaction.

type Row = Record<string, unknown>;

/** One processed order.paid event of the Laurel database and every row it wrote. */
interface SampleRows {
  event: Row;
  order: Row;
  award: Row;
  transaction: Row;
  entries: Row[];
  lot: Row;
  movement: Row;
  outbox: Row;
}

async function readSample(database: DatabaseHandle, shopId: string): Promise<SampleRows> {
  const { db } = database;
  // The latest event that all three rules matched: the widest set of rows an order writes.
  const awarded = await db
    .selectFrom("event_awards")
    .select("event_id")
    .where("shop_id", "=", shopId)
    .groupBy("event_id")
    .having((eb) => eb.fn.countAll(), "=", rules.length)
    .orderBy("event_id", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!awarded) throw new Error("no warm-up event matched all three rules");
  const event = await db
    .selectFrom("events")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", awarded.event_id)
    .executeTakeFirstOrThrow();
  const order = await db
    .selectFrom("orders")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("paid_event_id", "=", event.id)
    .executeTakeFirstOrThrow();
  const awards = await db
    .selectFrom("event_awards")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("event_id", "=", event.id)
    .execute();
  const transactions = await db
    .selectFrom("ledger_transactions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("reference", "=", event.id)
    .execute();
  const transaction = transactions[0];
  if (transactions.length !== 1 || !transaction) {
    throw new Error(`event ${event.id} has ${transactions.length} ledger transactions; the bench expects one`);
  }
  const entries = await db
    .selectFrom("ledger_entries")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "=", transaction.id)
    .orderBy("line")
    .execute();
  const lots = await db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "=", transaction.id)
    .execute();
  const movements = await db
    .selectFrom("ledger_lot_movements")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "=", transaction.id)
    .execute();
  const outbox = await db
    .selectFrom("outbox")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("type", "=", "points.earned")
    .where("payload", "like", `%${transaction.id}%`)
    .execute();
  const [award, lot, movement, outboxRow] = [awards[0], lots[0], movements[0], outbox[0]];
  const shape = `${awards.length} awards, ${entries.length} entries, ${lots.length} lots, ${movements.length} movements, ${outbox.length} outbox rows`;
  if (
    awards.length !== rules.length ||
    entries.length !== 2 ||
    lots.length !== 1 ||
    movements.length !== 1 ||
    outbox.length !== 1 ||
    !award ||
    !lot ||
    !movement ||
    !outboxRow
  ) {
    throw new Error(`event ${event.id} wrote ${shape}; the baseline copies 3, 2, 1, 1, 1`);
  }
  return { event, order, award, transaction, entries, lot, movement, outbox: outboxRow };
}

/** `insert into <table> (<the sample's columns>) values (?, …)` for `rows` rows. */
function insertSql(table: string, columns: string[], rows = 1): string {
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  return `insert into ${table} (${columns.join(", ")}) values ${Array.from({ length: rows }, () => tuple).join(", ")}`;
}

/** The sample row's values with `changes` applied, in the order of `columns`. */
function valuesOf(columns: string[], sample: Row, changes: Row): unknown[] {
  return columns.map((column) => (column in changes ? changes[column] : sample[column]));
}

interface AccountRow {
  available: number;
  pending: number;
  reserved: number;
  lifetime_earned: number;
  lifetime_spent: number;
  lifetime_expired: number;
  debt: number;
  next_due_at: string | null;
}

const lockSql = "update point_accounts set version = version + 1 where shop_id = ? and member_id = ? returning *";
const saveAccountSql =
  "update point_accounts set available = ?, pending = ?, reserved = ?, lifetime_earned = ?, lifetime_spent = ?, lifetime_expired = ?, debt = ?, next_due_at = ?, updated_at = ? where shop_id = ? and member_id = ?";

/**
 * The statements of one order, as (SQL, parameters) pairs after the account lock: the same rows
 * as Laurel's, ids and amounts of this order, the JSON texts (explanation, metadata, outbox
 * payload) copied from the sample. The event payload is this order's own body.
 */
class BaselineRows {
  private readonly columns: Record<keyof SampleRows, string[]>;
  readonly sql: {
    event: string;
    order: string;
    awards: string[];
    transaction: string;
    entries: string;
    lot: string;
    movement: string;
    outbox: string;
  };

  constructor(
    private readonly sample: SampleRows,
    private readonly fixture: Fixture,
    private readonly ruleIds: string[],
  ) {
    const columns = (row: Row) => Object.keys(row);
    this.columns = {
      event: columns(sample.event),
      order: columns(sample.order),
      award: columns(sample.award),
      transaction: columns(sample.transaction),
      entries: columns(sample.entries[0] as Row),
      lot: columns(sample.lot),
      movement: columns(sample.movement),
      outbox: columns(sample.outbox),
    };
    this.sql = {
      event: insertSql("events", this.columns.event),
      order: insertSql("orders", this.columns.order),
      awards: [1, 2, 3].map((count) => insertSql("event_awards", this.columns.award, count)),
      transaction: insertSql("ledger_transactions", this.columns.transaction),
      entries: insertSql("ledger_entries", this.columns.entries, 2),
      lot: insertSql("ledger_lots", this.columns.lot),
      movement: insertSql("ledger_lot_movements", this.columns.movement),
      outbox: insertSql("outbox", this.columns.outbox),
    };
  }

  of(order: Order, account: AccountRow) {
    const { sample, columns } = this;
    const shopId = this.fixture.shopId;
    const memberId = this.fixture.memberIds[order.member] as string;
    const now = new Date();
    const at = now.toISOString();
    const eventId = newId("event", now);
    const transactionId = newId("ledgerTransaction", now);
    const lotId = newId("lot", now);
    const outboxId = newId("outboxEvent", now);
    const points = order.points;
    const expiresAt = addMonths(order.occurredAt, 12);
    const awards: unknown[] = [];
    for (const award of order.awards) {
      awards.push(
        ...valuesOf(columns.award, sample.award, {
          shop_id: shopId,
          event_id: eventId,
          rule_id: this.ruleIds[award.rule],
          member_id: memberId,
          points: award.points,
          transaction_id: transactionId,
          occurred_at: order.occurredAt,
        }),
      );
    }
    const entries: unknown[] = [];
    for (const entry of sample.entries) {
      entries.push(
        ...valuesOf(columns.entries, entry, {
          shop_id: shopId,
          transaction_id: transactionId,
          member_id: entry.member_id === null ? null : memberId,
          amount: Math.sign(entry.amount as number) * points,
        }),
      );
    }
    const nextDueAt = account.next_due_at !== null && account.next_due_at < expiresAt ? account.next_due_at : expiresAt;
    return {
      event: valuesOf(columns.event, sample.event, {
        shop_id: shopId,
        id: eventId,
        external_id: `order-${order.number}-paid`,
        member_id: memberId,
        order_id: String(order.number),
        points,
        occurred_at: order.occurredAt,
        received_at: at,
        payload: JSON.stringify(eventBody(order, memberId)),
      }),
      order: valuesOf(columns.order, sample.order, {
        shop_id: shopId,
        external_id: String(order.number),
        member_id: memberId,
        total: order.total,
        subtotal: order.subtotal,
        shop_total: order.total,
        points_earned: points,
        paid_event_id: eventId,
        paid_at: order.occurredAt,
        created_at: at,
        updated_at: at,
      }),
      awardsSql: this.sql.awards[order.awards.length - 1] as string,
      awards,
      transaction: valuesOf(columns.transaction, sample.transaction, {
        shop_id: shopId,
        id: transactionId,
        member_id: memberId,
        amount: points,
        reference: eventId,
        created_at: at,
      }),
      entries,
      lot: valuesOf(columns.lot, sample.lot, {
        shop_id: shopId,
        id: lotId,
        member_id: memberId,
        transaction_id: transactionId,
        amount: points,
        remaining: points,
        expires_at: expiresAt,
        created_at: at,
      }),
      movement: valuesOf(columns.movement, sample.movement, {
        shop_id: shopId,
        transaction_id: transactionId,
        lot_id: lotId,
        amount: points,
      }),
      outbox: valuesOf(columns.outbox, sample.outbox, {
        shop_id: shopId,
        id: outboxId,
        subject_id: memberId,
        created_at: at,
      }),
      account: [
        account.available + points,
        account.pending,
        account.reserved,
        account.lifetime_earned + points,
        account.lifetime_spent,
        account.lifetime_expired,
        account.debt,
        nextDueAt,
        at,
        shopId,
        memberId,
      ],
    };
  }
}

interface Baseline {
  /** Writes the orders in one database transaction; returns its milliseconds. */
  batch(orders: Order[]): Promise<number> | number;
  committed(): number;
  close(): Promise<void> | void;
}

/** better-sqlite3 on its own connection with Laurel's pragmas, prepared statements, BEGIN IMMEDIATE. */
function sqliteBaseline(fixture: Fixture, rows: BaselineRows): Baseline {
  const connection = new SqliteDatabase(fixture.target.url.slice("file:".length));
  connection.pragma("journal_mode = WAL");
  connection.pragma("synchronous = NORMAL");
  connection.pragma("foreign_keys = ON");
  connection.pragma("busy_timeout = 5000");
  const prepared = new Map<string, SqliteDatabase.Statement>();
  const statement = (text: string) => {
    let found = prepared.get(text);
    if (!found) {
      found = connection.prepare(text);
      prepared.set(text, found);
    }
    return found;
  };
  const lock = connection.prepare<[string, string], AccountRow>(lockSql);
  const saveAccount = connection.prepare(saveAccountSql);
  const insertEvent = statement(rows.sql.event);
  const insertOrder = statement(rows.sql.order);
  const insertTransaction = statement(rows.sql.transaction);
  const insertEntries = statement(rows.sql.entries);
  const insertLot = statement(rows.sql.lot);
  const insertMovement = statement(rows.sql.movement);
  const insertOutbox = statement(rows.sql.outbox);
  const { shopId } = fixture;
  let committed = 0;
  const write = connection.transaction((orders: Order[]) => {
    for (const order of orders) {
      const account = lock.get(shopId, fixture.memberIds[order.member] as string);
      if (!account) throw new Error(`no account for member ${order.member}`);
      const values = rows.of(order, account);
      insertLot.run(values.lot);
      insertTransaction.run(values.transaction);
      insertEntries.run(values.entries);
      insertMovement.run(values.movement);
      insertOutbox.run(values.outbox);
      saveAccount.run(values.account);
      statement(values.awardsSql).run(values.awards);
      insertOrder.run(values.order);
      insertEvent.run(values.event);
    }
  });
  return {
    batch: (orders) => {
      const started = performance.now();
      write.immediate(orders);
      committed += orders.length;
      return performance.now() - started;
    },
    committed: () => committed,
    close: () => {
      connection.close();
    },
  };
}

/** `?` placeholders to PostgreSQL's `$1, $2, …`. */
function numbered(text: string): string {
  let index = 0;
  return text.replace(/\?/g, () => `$${++index}`);
}

/** A node-postgres client of its own, named (server-side prepared) statements, BEGIN/COMMIT. */
async function postgresBaseline(fixture: Fixture, rows: BaselineRows): Promise<Baseline> {
  const client = new pg.Client({ connectionString: fixture.target.url });
  await client.connect();
  const names = new Map<string, { name: string; text: string }>();
  const run = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[]) => {
    let named = names.get(text);
    if (!named) {
      named = { name: `bench_${names.size}`, text: numbered(text) };
      names.set(text, named);
    }
    return client.query<R>({ ...named, values });
  };
  const { shopId } = fixture;
  let committed = 0;
  return {
    batch: async (orders) => {
      const started = performance.now();
      await client.query("begin");
      try {
        for (const order of orders) {
          const locked = await run<AccountRow>(lockSql, [shopId, fixture.memberIds[order.member]]);
          const account = locked.rows[0];
          if (!account) throw new Error(`no account for member ${order.member}`);
          const values = rows.of(order, account);
          await run(rows.sql.lot, values.lot);
          await run(rows.sql.transaction, values.transaction);
          await run(rows.sql.entries, values.entries);
          await run(rows.sql.movement, values.movement);
          await run(rows.sql.outbox, values.outbox);
          await run(saveAccountSql, values.account);
          await run(values.awardsSql, values.awards);
          await run(rows.sql.order, values.order);
          await run(rows.sql.event, values.event);
        }
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
      await client.query("commit");
      committed += orders.length;
      return performance.now() - started;
    },
    committed: () => committed,
    close: () => client.end(),
  };
}

// ---------------------------------------------------------------------------------------------
// Checks: a bench that wrote wrong points or broke the ledger must not report a number.

async function assertLedgerSound(database: DatabaseHandle, shopId: string, label: string, transactions: number) {
  const report = await verifyLedger(database.db, { shopId });
  if (report.transactions !== transactions) {
    throw new Error(`${label}: expected ${transactions} ledger transactions, the ledger holds ${report.transactions}`);
  }
  if (report.problems.length > 0) {
    const sample = report.problems
      .slice(0, 5)
      .map((problem) => `${problem.check} ${problem.subject}: ${problem.detail}`)
      .join("; ");
    throw new Error(`${label}: verifyLedger found ${report.problems.length} problems, e.g. ${sample}`);
  }
}

/**
 * Every order Laurel was sent is a processed event, the points credited are the points the rules
 * should give (in total, and member by member for a sample), one ledger transaction per order.
 */
async function checkPoints(fixture: Fixture, generator: OrderGenerator, orders: number): Promise<string> {
  const { db } = fixture.database;
  const events = await db
    .selectFrom("events")
    .select((eb) => [
      eb.fn.countAll<number>().as("count"),
      eb.fn.sum<number>("points").as("points"),
      eb.fn.count<number>("reason").as("skipped"),
    ])
    .where("shop_id", "=", fixture.shopId)
    .executeTakeFirstOrThrow();
  const expected = [...generator.expectedByMember.values()].reduce((sum, points) => sum + points, 0);
  if (Number(events.count) !== orders || Number(events.skipped) !== 0 || Number(events.points) !== expected) {
    throw new Error(
      `Laurel holds ${events.count} events (${events.skipped} skipped) worth ${events.points} points; sent ${orders} orders worth ${expected}`,
    );
  }
  const sample = Array.from({ length: sampleMembers }, (_, index) => Math.floor((index * memberCount) / sampleMembers));
  const accounts = await db
    .selectFrom("point_accounts")
    .select(["member_id", "available", "lifetime_earned"])
    .where("shop_id", "=", fixture.shopId)
    .where(
      "member_id",
      "in",
      sample.map((index) => fixture.memberIds[index] as string),
    )
    .execute();
  const byId = new Map(accounts.map((account) => [account.member_id, account]));
  for (const index of sample) {
    const want = generator.expectedByMember.get(index) ?? 0;
    const account = byId.get(fixture.memberIds[index] as string);
    if (!account || Number(account.available) !== want || Number(account.lifetime_earned) !== want) {
      throw new Error(
        `member ${index}: expected ${want} points, has ${account?.available} available, ${account?.lifetime_earned} earned`,
      );
    }
  }
  await assertLedgerSound(fixture.database, fixture.shopId, "Laurel", orders);
  return `${orders.toLocaleString("en-US")} orders, ${expected.toLocaleString("en-US")} points, ${sampleMembers} sampled members exact`;
}

// ---------------------------------------------------------------------------------------------

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: p99 of fewer than 100 batches is the slowest one.
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

interface DialectResult {
  measurements: Measurement[];
  sanity: string;
  load: string;
}

/** The 1-minute load average: on a shared machine it says how much of the CPUs the bench had. */
function loadNow(): string {
  return (loadavg()[0] ?? 0).toFixed(1);
}

async function measureDialect(dialect: Dialect): Promise<DialectResult> {
  const measurements: Measurement[] = [];
  const loadBefore = loadNow();
  const single = measuredBatches[dialect];
  const perClient = concurrentBatchesPerClient[dialect];
  const generator = new OrderGenerator(Date.now());
  const warmUp = generator.batch();
  const measured = Array.from({ length: single }, () => generator.batch());
  const concurrent = Array.from({ length: concurrentClients }, (_, lane) =>
    Array.from({ length: perClient }, () => generator.batch(lane, concurrentClients)),
  );

  let laurelFixture: Fixture | undefined;
  let baselineFixture: Fixture | undefined;
  let app: FastifyInstance | undefined;
  let client: BatchClient | undefined;
  let baseline: Baseline | undefined;
  try {
    laurelFixture = await createFixture(dialect);
    baselineFixture = await createFixture(dialect);
    const config = loadConfig(
      {
        LAUREL_DATABASE_URL: laurelFixture.target.url,
        LAUREL_RATE_LIMIT: "0",
        LAUREL_LOG_LEVEL: "silent",
        LAUREL_DEMO_SHOP: "false",
      },
      { isTerminal: false },
    );
    app = await buildApp({
      config,
      database: laurelFixture.database,
      clock: systemClock,
      logger: createLogger(config),
    });
    const origin = await listen(app);
    await postRules(origin, laurelFixture.secretKey);
    const { shopId: baselineShop } = baselineFixture;
    const baselineRuleIds = await withTransaction(baselineFixture.database, async (trx) => {
      const ids: string[] = [];
      for (const draft of rules) {
        ids.push((await createRule(trx, { shopId: baselineShop, currency: shopCurrency, draft }, new Date())).id);
      }
      return ids;
    });

    const laurelMembers = laurelFixture.memberIds;
    const bodies = [warmUp, ...measured, ...concurrent.flat()].map((orders) => requestBody(orders, laurelMembers));
    client = new BatchClient(`${origin}/v1/events/batch`, laurelFixture.secretKey, bodies);
    await client.send([[0]]);

    const rows = new BaselineRows(
      await readSample(laurelFixture.database, laurelFixture.shopId),
      baselineFixture,
      baselineRuleIds,
    );
    baseline =
      dialect === "sqlite" ? sqliteBaseline(baselineFixture, rows) : await postgresBaseline(baselineFixture, rows);
    await baseline.batch(warmUp);

    // One client: Laurel and the baseline take turns, a round of up to `roundBatches` batches each.
    const laurelTotals = { ms: 0, orders: 0, latencies: [] as number[] };
    const baselineTotals = { ms: 0, orders: 0, latencies: [] as number[] };
    const runLaurel = async (indexes: number[]) => {
      // Request bodies: 0 is the warm-up, 1… the measured batches.
      const result = await client?.send([indexes.map((index) => index + 1)]);
      if (!result) throw new Error("no client");
      laurelTotals.ms += result.ms;
      laurelTotals.orders += result.orders;
      laurelTotals.latencies.push(...result.latencies);
    };
    const runBaseline = async (indexes: number[]) => {
      for (const index of indexes) {
        const ms = await baseline?.batch(measured[index] as Order[]);
        if (ms === undefined) throw new Error("no baseline");
        baselineTotals.ms += ms;
        baselineTotals.orders += batchSize;
        baselineTotals.latencies.push(ms);
      }
    };
    for (let start = 0, round = 0; start < single; start += roundBatches, round++) {
      const indexes = Array.from({ length: Math.min(roundBatches, single - start) }, (_, offset) => start + offset);
      if (round % 2 === 0) {
        await runLaurel(indexes);
        await runBaseline(indexes);
      } else {
        await runBaseline(indexes);
        await runLaurel(indexes);
      }
    }

    // Two clients at once, each with its own members; against the same one-connection baseline.
    const firstConcurrent = 1 + single;
    const lanes = Array.from({ length: concurrentClients }, (_, lane) =>
      Array.from({ length: perClient }, (_, offset) => firstConcurrent + lane * perClient + offset),
    );
    const both = await client.send(lanes);

    const perSecond = (totals: { ms: number; orders: number }) => totals.orders / (totals.ms / 1000);
    const laurelRate = perSecond(laurelTotals);
    const baselineRate = perSecond(baselineTotals);
    const add = (fields: Omit<Measurement, "ratio" | "dialect">) =>
      measurements.push(measurement({ dialect, ...fields }));
    add({
      name: `orders through POST /v1/events/batch, ${batchLabel} per request, 1 client (${single} batches)`,
      unit: "tx/s",
      better: "higher",
      laurel: laurelRate,
      baseline: baselineRate,
    });
    add({
      name: `orders through POST /v1/events/batch, ${concurrentClients} clients at once (${concurrentClients * perClient} batches; baseline: raw, 1 connection)`,
      unit: "tx/s",
      better: "higher",
      laurel: both.orders / (both.ms / 1000),
      baseline: baselineRate,
    });
    add({
      name: `batch of ${batchLabel} p50 latency, 1 client (baseline: one raw transaction)`,
      unit: "ms",
      better: "lower",
      laurel: percentile(laurelTotals.latencies, 0.5),
      baseline: percentile(baselineTotals.latencies, 0.5),
    });
    add({
      name: `batch of ${batchLabel} p99 latency, 1 client (baseline: one raw transaction)`,
      unit: "ms",
      better: "lower",
      laurel: percentile(laurelTotals.latencies, 0.99),
      baseline: percentile(baselineTotals.latencies, 0.99),
    });

    const sent = (1 + single + concurrentClients * perClient) * batchSize;
    const sanity = await checkPoints(laurelFixture, generator, sent);
    await assertLedgerSound(baselineFixture.database, baselineFixture.shopId, "raw baseline", baseline.committed());
    return {
      measurements,
      sanity: `${dialect}: ${sanity}; verifyLedger: no problems (Laurel and baseline)`,
      load: `${dialect} ${loadBefore} → ${loadNow()}`,
    };
  } finally {
    await client?.close();
    await app?.close();
    await baseline?.close();
    await dropFixture(laurelFixture);
    await dropFixture(baselineFixture);
  }
}

/** order.paid events through the batch API over HTTP, against the same rows in raw SQL. */
export async function run(): Promise<BenchReport> {
  const measurements: Measurement[] = [];
  const checks: string[] = [];
  const loads: string[] = [];
  for (const dialect of benchDialects) {
    const result = await measureDialect(dialect);
    measurements.push(...result.measurements);
    checks.push(result.sanity);
    loads.push(result.load);
  }
  const batches = benchDialects.map((dialect) => `${dialect} ${measuredBatches[dialect]}`).join(", ");
  return {
    title: `order.paid events through POST /v1/events/batch over HTTP on 127.0.0.1: ${batchLabel} orders per request from one client (${batches} batches, taking turns with the baseline in rounds of ${roundBatches}), then ${concurrentClients} clients at once; ${memberCount} members, 3 earning rules`,
    notes: [
      "tx/s here is orders (order.paid events) per second: each order is one ledger transaction, as the three rules share the default 12-month expiry (checked).",
      `Setup (not timed): a USD shop in ${shopTimezone}, ${memberCount} members made by createMember, and 3 active rules posted to /v1/rules: 10 points per 1 USD of subtotal; 100 points on the first order (order.is_first_order eq true); 50 points on a subtotal of 50 USD or more, ×2 on Saturday and Sunday (event.weekday weekday_in sat, sun).`,
      `Orders (seeded, same every run): member_id, unique external_id, order {id, currency USD, total 20.00–140.00, subtotal 90 % of it, 1–3 product_ids}, occurred_at over the last ${spreadDays} days; 1 warm-up batch each side before timing.`,
      "Laurel: the real app (rate limiting off, logging silent, secret key); the client is a worker thread of the same process (fetch, keep-alive) and times each request to the last byte of the answer; every event must come back created.",
      `${concurrentClients} clients: each sends its batches one after the other, with its own members (so first orders are known); its baseline is the same one-connection raw figure.`,
      "Baseline: the rows Laurel wrote for one real warm-up order that matched all three rules, copied column for column — events, orders, event_awards (one insert of 1–3 rows), ledger_transactions, ledger_entries (2 rows, one insert), ledger_lots, ledger_lot_movements, outbox — plus the account lock (update … returning) and the account update: 10 statements an order, 1,000 orders a transaction, on a second fresh database with the same schema, shop, members and rules.",
      "Baseline values: ids from newId, this order's amounts, points and expiry, the event payload is the order's own JSON body; the explanation, transaction metadata and outbox payload texts are the sample's, byte for byte. It does no reads besides the account lock (no duplicate, member, first-order or rule lookups) and no rule evaluation.",
      "SQLite baseline: better-sqlite3 prepared statements on its own connection with Laurel's pragmas (WAL, synchronous=NORMAL, foreign_keys), BEGIN IMMEDIATE. PostgreSQL baseline: one node-postgres client, named (server-side prepared) statements, BEGIN/COMMIT.",
      "Latency: Laurel's is the client's time for one request of 1,000 orders (HTTP, validation, the transaction, the answer); the baseline's is one raw 1,000-order transaction. p99 is by nearest rank: of fewer than 100 batches it is the slowest.",
      ...checks.map((check) => `Checked after the run — ${check}.`),
      `1-minute load average at the start and end of each dialect (${cpus().length} CPUs; the server, its client and the baseline share them with whatever else runs): ${loads.join(", ")}.`,
    ],
    measurements,
  };
}
