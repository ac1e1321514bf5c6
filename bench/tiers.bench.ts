import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { systemActor } from "../src/modules/ledger/index.js";
import { createShopWithKeys, type Shop } from "../src/modules/shops/index.js";
import { reevaluateAllMembers, saveProgram } from "../src/modules/tiers/index.js";
import type { TierProgramDraft } from "../src/modules/tiers/program.js";
import { addMonths } from "../src/platform/clock.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "../src/platform/db/database.js";
import { migrateToLatest } from "../src/platform/db/migrate.js";
import { withTransaction } from "../src/platform/db/transaction.js";
import { newId } from "../src/platform/ids.js";
import { seededRandom } from "../test/support/random.js";
import {
  type BenchDatabase,
  type BenchReport,
  benchDialects,
  createBenchDatabase,
  type Measurement,
  measurement,
} from "./support.js";

function countFromEnv(name: string): number | undefined {
  const text = process.env[name]?.trim().replaceAll("_", "");
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not "${text}"`);
  return value;
}

/**
 * Members to re-evaluate: LAUREL_BENCH_TIER_MEMBERS, 1,000,000 unless set (try it small first).
 * PostgreSQL takes LAUREL_BENCH_TIER_POSTGRES_MEMBERS, else the same number capped at 200,000:
 * Laurel's sweep there runs at about 4,800 members/s on the reference machine (every upgrade is
 * a few round trips: the member's lock and the tier row), seeding a million takes minutes too,
 * and the 2-minute target is SQLite's.
 */
const sqliteMembers = countFromEnv("LAUREL_BENCH_TIER_MEMBERS") ?? 1_000_000;
const postgresMemberCap = 200_000;
const memberCounts: Record<Dialect, number> = {
  sqlite: sqliteMembers,
  postgres: countFromEnv("LAUREL_BENCH_TIER_POSTGRES_MEMBERS") ?? Math.min(sqliteMembers, postgresMemberCap),
};
const targetMembers = 1_000_000;
const targetMs = 120_000;

function count(value: number): string {
  return value.toLocaleString("en-US");
}

const shopCurrency = "USD";
const seed = 20_261_124;
const source = "api";
/** Members (and their orders) generated and written at a time while seeding. */
const seedChunk = 5_000;
/** Rows fetched at a time from the PostgreSQL baseline's cursor. */
const cursorFetch = 10_000;
const memorySampleMs = 100;
const mib = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The program: a base tier and two above it on a rolling 12-month window, any threshold enough.

const silver = { spend: 60_000, orders: 8 };
const gold = { spend: 130_000, orders: 10 };

const program: TierProgramDraft = {
  window: { type: "rolling_months", months: 12 },
  tiers: [
    { key: "member", name: { en: "Member" } },
    {
      key: "silver",
      name: { en: "Silver" },
      thresholds: { spend: { amount: silver.spend, currency: shopCurrency }, orders: silver.orders },
    },
    {
      key: "gold",
      name: { en: "Gold" },
      thresholds: { spend: { amount: gold.spend, currency: shopCurrency }, orders: gold.orders },
    },
  ],
};
const tierKeys = ["member", "silver", "gold"] as const;

interface Activity {
  spend: number;
  orders: number;
  points: number;
}

/** The tier a member's figures reach, in plain JS: the highest whose spend or order count is met. */
function tierOf(activity: Activity): number {
  if (activity.spend >= gold.spend || activity.orders >= gold.orders) return 2;
  if (activity.spend >= silver.spend || activity.orders >= silver.orders) return 1;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The data: generated in member order from a seeded PRNG, so every run and both dialects get the
// same members and orders. The generator also keeps what each member's tier must come out as.

type Row = unknown[];

interface SeedChunk {
  members: Row[];
  orders: Row[];
}

const memberColumns = ["shop_id", "id", "status", "created_at", "updated_at", "joined_at"];
const orderColumns = [
  "shop_id",
  "source",
  "external_id",
  "member_id",
  "status",
  "currency",
  "total",
  "subtotal",
  "shop_total",
  "refunded",
  "points_earned",
  "points_reversed",
  "paid_event_id",
  "paid_at",
  "cancelled_at",
  "created_at",
  "updated_at",
];
/** PostgreSQL array types of the columns above, for `unnest`. */
const memberTypes = ["text", "text", "text", "text", "text", "text"];
const orderTypes = [
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "int8",
  "int8",
  "int8",
  "int8",
  "int8",
  "int8",
  "text",
  "text",
  "text",
  "text",
  "text",
];

interface SeedTally {
  members: number;
  orders: number;
  cancelled: number;
  fullyRefunded: number;
  partlyRefunded: number;
  /** Members per tier, by index, as the generated figures qualify them. */
  expected: number[];
  /** The generated figures of a few members, for a member-by-member check. */
  sample: Map<string, Activity>;
}

class Generator {
  private readonly random = seededRandom(seed);
  private nextOrder = 1;
  private nextMember = 0;
  readonly tally: SeedTally = {
    members: 0,
    orders: 0,
    cancelled: 0,
    fullyRefunded: 0,
    partlyRefunded: 0,
    expected: tierKeys.map(() => 0),
    sample: new Map(),
  };
  private readonly windowStart: number;
  private readonly windowSpan: number;
  /** Members joined over the two years before the window, in id order. */
  private readonly joinedFrom: number;
  private readonly joinStep: number;
  private readonly sampleEvery: number;

  constructor(
    private readonly shopId: string,
    now: Date,
    private readonly memberCount: number,
  ) {
    this.sampleEvery = Math.max(1, Math.floor(memberCount / 200));
    const from = Date.parse(addMonths(now.toISOString(), -12));
    // A second inside each end of the window, so no order sits on a boundary.
    this.windowStart = from + 1_000;
    this.windowSpan = now.getTime() - 1_000 - this.windowStart;
    this.joinedFrom = Date.parse(addMonths(now.toISOString(), -36));
    this.joinStep = (from - this.joinedFrom) / memberCount;
  }

  /** The next `size` members (fewer at the end) and their orders; none when all were made. */
  chunk(size: number): SeedChunk {
    const members: Row[] = [];
    const orders: Row[] = [];
    const { random, shopId } = this;
    const end = Math.min(this.memberCount, this.nextMember + size);
    for (; this.nextMember < end; this.nextMember++) {
      const index = this.nextMember;
      const joined = new Date(Math.floor(this.joinedFrom + index * this.joinStep));
      // Time-sortable ids, one millisecond apart or more: id order is member order.
      const id = newId("member", joined);
      const joinedAt = joined.toISOString();
      members.push([shopId, id, "active", joinedAt, joinedAt, joinedAt]);
      const activity: Activity = { spend: 0, orders: 0, points: 0 };
      // 0–10 orders, fewer more often: about 4 on average.
      const orderCount = Math.floor(random() ** 1.5 * 11);
      for (let n = 0; n < orderCount; n++) {
        const number = this.nextOrder++;
        const total = 1_000 + Math.floor(random() * 19_001);
        const paidAt = new Date(this.windowStart + Math.floor(random() * this.windowSpan)).toISOString();
        const pointsEarned = Math.floor(total / 10);
        const kind = random();
        let status = "paid";
        let refunded = 0;
        let reversed = 0;
        let cancelledAt: string | null = null;
        if (kind < 0.02) {
          status = "cancelled";
          reversed = pointsEarned;
          cancelledAt = paidAt;
          this.tally.cancelled++;
        } else if (kind < 0.07) {
          refunded = total;
          reversed = pointsEarned;
          this.tally.fullyRefunded++;
        } else if (kind < 0.12) {
          refunded = 1 + Math.floor(random() * (total - 1));
          reversed = Math.floor((pointsEarned * refunded) / total);
          this.tally.partlyRefunded++;
        }
        if (status !== "cancelled" && refunded < total) {
          activity.spend += total - Math.floor((total * refunded) / total);
          activity.orders += 1;
        }
        activity.points += pointsEarned - reversed;
        const eventId = `ev_${String(number).padStart(10, "0")}`;
        orders.push([
          shopId,
          source,
          String(number).padStart(10, "0"),
          id,
          status,
          shopCurrency,
          total,
          Math.floor(total * 0.9),
          total,
          refunded,
          pointsEarned,
          reversed,
          eventId,
          paidAt,
          cancelledAt,
          paidAt,
          paidAt,
        ]);
      }
      this.tally.orders += orderCount;
      this.tally.members += 1;
      (this.tally.expected[tierOf(activity)] as number)++;
      if (index % this.sampleEvery === 0) this.tally.sample.set(id, activity);
    }
    return { members, orders };
  }
}

/** Every member's points account (all zeros), derived from the members in one statement. */
const accountsFromMembers = `insert into point_accounts (shop_id, member_id, available, pending, reserved, lifetime_earned, lifetime_spent, lifetime_expired, debt, next_due_at, version, created_at, updated_at)
select shop_id, id, 0, 0, 0, 0, 0, 0, 0, null, 0, created_at, created_at from members where shop_id = $shop`;

/** One award per order, of the points it earned, when it was paid; one rule. */
const awardsFromOrders = `insert into event_awards (shop_id, event_id, rule_id, rule_version, member_id, points, transaction_id, occurred_at)
select shop_id, paid_event_id, $rule, 1, member_id, points_earned, null, paid_at from orders where shop_id = $shop`;

function sqliteParameters(text: string): string {
  return text.replace(/\$shop|\$rule/g, (name) => `@${name.slice(1)}`);
}

function postgresParameters(text: string): string {
  return text.replace("$shop", "$1").replace("$rule", "$2");
}

async function seedSqlite(url: string, generator: Generator, shopId: string, ruleId: string): Promise<void> {
  const connection = openSqliteConnection(url);
  try {
    const rowsPerStatement = 100;
    const statements = new Map<string, SqliteDatabase.Statement>();
    const insert = (table: string, columns: string[], rows: Row[]) => {
      for (let start = 0; start < rows.length; start += rowsPerStatement) {
        const slice = rows.slice(start, start + rowsPerStatement);
        const key = `${table}:${slice.length}`;
        let statement = statements.get(key);
        if (!statement) {
          const tuple = `(${columns.map(() => "?").join(", ")})`;
          statement = connection.prepare(
            `insert into ${table} (${columns.join(", ")}) values ${slice.map(() => tuple).join(", ")}`,
          );
          statements.set(key, statement);
        }
        statement.run(slice.flat());
      }
    };
    const write = connection.transaction((chunk: SeedChunk) => {
      insert("members", memberColumns, chunk.members);
      insert("orders", orderColumns, chunk.orders);
    });
    for (;;) {
      const chunk = generator.chunk(seedChunk);
      if (chunk.members.length === 0) break;
      write.immediate(chunk);
    }
    connection.transaction(() => {
      connection.prepare(sqliteParameters(accountsFromMembers)).run({ shop: shopId });
      connection.prepare(sqliteParameters(awardsFromOrders)).run({ shop: shopId, rule: ruleId });
    })();
    connection.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    connection.close();
  }
}

async function seedPostgres(url: string, generator: Generator, shopId: string, ruleId: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const insert = async (table: string, columns: string[], types: string[], rows: Row[]) => {
      if (rows.length === 0) return;
      const arrays = columns.map((_, column) => rows.map((row) => row[column]));
      const unnest = types.map((type, index) => `$${index + 1}::${type}[]`).join(", ");
      await client.query(`insert into ${table} (${columns.join(", ")}) select * from unnest(${unnest})`, arrays);
    };
    await client.query("begin");
    for (;;) {
      const chunk = generator.chunk(seedChunk);
      if (chunk.members.length === 0) break;
      await insert("members", memberColumns, memberTypes, chunk.members);
      await insert("orders", orderColumns, orderTypes, chunk.orders);
    }
    await client.query(postgresParameters(accountsFromMembers), [shopId]);
    await client.query(postgresParameters(awardsFromOrders), [shopId, ruleId]);
    await client.query("commit");
    // As autovacuum would leave a database that has had these rows a while: statistics and a
    // visibility map (index-only scans), so neither side pays for a fresh bulk load.
    for (const table of ["members", "point_accounts", "orders", "event_awards", "member_tiers"]) {
      await client.query(`vacuum analyze ${table}`);
    }
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Memory: a worker thread samples the process's RSS every 100 ms (RSS is per process, and the
// worker's timer fires even while the main thread runs synchronous SQLite work), keeping the
// peak in shared memory; the main thread samples its heap on a timer and after every chunk.

const samplerSource = `
const { workerData } = require("node:worker_threads");
const peak = new Int32Array(workerData.buffer);
const sample = () => {
  const kib = Math.ceil(process.memoryUsage.rss() / 1024);
  for (;;) {
    const current = Atomics.load(peak, 0);
    if (kib <= current || Atomics.compareExchange(peak, 0, current, kib) === current) break;
  }
  Atomics.add(peak, 1, 1);
};
setInterval(sample, workerData.intervalMs);
`;

interface MemoryPeak {
  /** RSS just before the run, MiB. */
  rssBefore: number;
  /** Highest RSS seen during the run, MiB. */
  rssPeak: number;
  heapBefore: number;
  heapPeak: number;
  /** RSS samples the worker took during the run. */
  samples: number;
}

class MemorySampler {
  private readonly shared = new SharedArrayBuffer(8);
  private readonly peak = new Int32Array(this.shared);
  private readonly worker: Worker;
  private heapPeak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.worker = new Worker(samplerSource, {
      eval: true,
      workerData: { buffer: this.shared, intervalMs: memorySampleMs },
    });
    this.worker.unref();
  }

  /** Called by the code under measurement between chunks, where the main thread's heap can be read. */
  readonly sample = () => {
    const { heapUsed, rss } = process.memoryUsage();
    if (heapUsed > this.heapPeak) this.heapPeak = heapUsed;
    const kib = Math.ceil(rss / 1024);
    if (kib > Atomics.load(this.peak, 0)) Atomics.store(this.peak, 0, kib);
  };

  async during<T>(work: () => Promise<T>): Promise<{ result: T; memory: MemoryPeak }> {
    const before = process.memoryUsage();
    Atomics.store(this.peak, 0, Math.ceil(before.rss / 1024));
    Atomics.store(this.peak, 1, 0);
    this.heapPeak = before.heapUsed;
    this.timer = setInterval(this.sample, memorySampleMs);
    try {
      const result = await work();
      this.sample();
      return {
        result,
        memory: {
          rssBefore: before.rss / mib,
          rssPeak: (Atomics.load(this.peak, 0) * 1024) / mib,
          heapBefore: before.heapUsed / mib,
          heapPeak: this.heapPeak / mib,
          samples: Atomics.load(this.peak, 1),
        },
      };
    } finally {
      clearInterval(this.timer);
    }
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Baseline: one hand-written statement that aggregates every member's spend net of refunds,
// qualifying orders and points over the same window, streamed row by row; the tier of each
// member is counted in plain JS.

const spendSql =
  "case when status = 'cancelled' or total = 0 then 0 else coalesce(shop_total, 0) - (coalesce(shop_total, 0) * refunded) / total end";
const qualifyingSql = "case when status = 'cancelled' or refunded >= total then 0 else 1 end";

/**
 * PostgreSQL: the members left-joined to the orders and the awards grouped by member. Under a
 * cursor the planner streams it: a merge join of the members' primary key with two group
 * aggregates read in member order from the (shop_id, member_id, …) indexes.
 */
const postgresBaselineSql = `select m.id as id,
    coalesce(o.spend, 0) as spend,
    coalesce(o.orders, 0) as orders,
    coalesce(a.points, 0) - coalesce(o.reversed, 0) as points
  from members m
  left join (
    select member_id, sum(${spendSql}) as spend, sum(${qualifyingSql}) as orders, sum(points_reversed) as reversed
    from orders
    where shop_id = $1 and paid_at >= $2 and paid_at <= $3
    group by member_id
  ) o on o.member_id = m.id
  left join (
    select member_id, sum(points) as points
    from event_awards
    where shop_id = $1 and occurred_at >= $2 and occurred_at <= $3
    group by member_id
  ) a on a.member_id = m.id
  where m.shop_id = $1 and m.status = 'active'`;

/**
 * SQLite: the same figures as correlated aggregates per member, in member order. (SQLite runs
 * the left join of two grouped subqueries as fast, but materializes both first, so its memory
 * grows with the number of members; this form streams.)
 */
const sqliteBaselineSql = `select m.id as id,
    (select coalesce(sum(${spendSql}), 0) from orders o
      where o.shop_id = m.shop_id and o.member_id = m.id and o.paid_at >= @from and o.paid_at <= @to) as spend,
    (select coalesce(sum(${qualifyingSql}), 0) from orders o
      where o.shop_id = m.shop_id and o.member_id = m.id and o.paid_at >= @from and o.paid_at <= @to) as orders,
    (select coalesce(sum(points), 0) from event_awards a
      where a.shop_id = m.shop_id and a.member_id = m.id and a.occurred_at >= @from and a.occurred_at <= @to)
    - (select coalesce(sum(points_reversed), 0) from orders o
      where o.shop_id = m.shop_id and o.member_id = m.id and o.paid_at >= @from and o.paid_at <= @to) as points
  from members m
  where m.shop_id = @shop and m.status = 'active'
  order by m.id`;

interface BaselineRow {
  id: string;
  spend: number | string;
  orders: number | string;
  points: number | string;
}

interface BaselineResult {
  members: number;
  tiers: number[];
  sample: Map<string, Activity>;
}

class TierCounter {
  readonly result: BaselineResult = { members: 0, tiers: tierKeys.map(() => 0), sample: new Map() };

  constructor(private readonly sampleIds: ReadonlySet<string>) {}

  add(row: BaselineRow): void {
    const activity = { spend: Number(row.spend), orders: Number(row.orders), points: Number(row.points) };
    (this.result.tiers[tierOf(activity)] as number)++;
    this.result.members++;
    if (this.sampleIds.has(row.id)) this.result.sample.set(row.id, activity);
  }
}

interface Window {
  from: string;
  to: string;
}

function openSqliteConnection(url: string): SqliteDatabase.Database {
  const connection = new SqliteDatabase(url.slice("file:".length));
  // Laurel's pragmas (src/platform/db/database.ts), page cache included.
  connection.pragma("journal_mode = WAL");
  connection.pragma("synchronous = NORMAL");
  connection.pragma("foreign_keys = ON");
  connection.pragma("busy_timeout = 5000");
  connection.pragma("temp_store = MEMORY");
  connection.pragma("cache_size = -65536");
  return connection;
}

/** better-sqlite3 on its own connection: the statement's rows through `.iterate()`. */
async function sqliteBaseline(
  url: string,
  shopId: string,
  window: Window,
  counter: TierCounter,
  sample: () => void,
): Promise<void> {
  const connection = openSqliteConnection(url);
  try {
    const rows = connection
      .prepare<{ shop: string; from: string; to: string }, BaselineRow>(sqliteBaselineSql)
      .iterate({ shop: shopId, ...window });
    for (const row of rows) {
      counter.add(row);
      if (counter.result.members % 1_000 === 0) sample();
    }
  } finally {
    connection.close();
  }
}

/** One node-postgres client: the statement under DECLARE CURSOR in a transaction, fetched in slices. */
async function postgresBaseline(
  url: string,
  shopId: string,
  window: Window,
  counter: TierCounter,
  sample: () => void,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin");
    await client.query(`declare tiers_baseline no scroll cursor for ${postgresBaselineSql}`, [
      shopId,
      window.from,
      window.to,
    ]);
    for (;;) {
      const { rows } = await client.query<BaselineRow>(`fetch ${cursorFetch} from tiers_baseline`);
      for (const row of rows) counter.add(row);
      sample();
      if (rows.length < cursorFetch) break;
    }
    await client.query("close tiers_baseline");
    await client.query("commit");
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Checks: a bench that put members on the wrong tier must not report a number.

async function laurelTierCounts(database: DatabaseHandle, shopId: string, members: number): Promise<number[]> {
  const rows = await database.db
    .selectFrom("member_tiers")
    .select((eb) => ["tier", eb.fn.countAll<number>().as("count")])
    .where("shop_id", "=", shopId)
    .groupBy("tier")
    .execute();
  const counts = tierKeys.map(() => 0);
  let placed = 0;
  for (const row of rows) {
    const index = tierKeys.indexOf(row.tier as (typeof tierKeys)[number]);
    if (index < 0) throw new Error(`member_tiers holds the unknown tier ${row.tier}`);
    counts[index] = Number(row.count);
    placed += Number(row.count);
  }
  // Members without a row are on the base tier.
  counts[0] = (counts[0] as number) + members - placed;
  return counts;
}

function describeCounts(counts: number[]): string {
  return tierKeys.map((key, index) => `${key} ${count(counts[index] ?? 0)}`).join(", ");
}

async function checkRun(
  database: DatabaseHandle,
  shopId: string,
  tally: SeedTally,
  baseline: BaselineResult,
  laurel: { evaluated: number; changed: number; resumed: boolean },
): Promise<string> {
  const members = tally.members;
  const expected = describeCounts(tally.expected);
  if (baseline.members !== members || describeCounts(baseline.tiers) !== expected) {
    throw new Error(
      `the baseline read ${baseline.members} members (${describeCounts(baseline.tiers)}); the data holds ${members} (${expected})`,
    );
  }
  const upgrades = members - (tally.expected[0] as number);
  if (laurel.evaluated !== members || laurel.changed !== upgrades || laurel.resumed) {
    throw new Error(
      `Laurel evaluated ${laurel.evaluated} members and changed ${laurel.changed} (resumed: ${laurel.resumed}); expected ${members} and ${upgrades}`,
    );
  }
  const counts = await laurelTierCounts(database, shopId, members);
  if (describeCounts(counts) !== expected) {
    throw new Error(`Laurel put members on ${describeCounts(counts)}; the baseline counts ${expected}`);
  }
  const { db } = database;
  const changes = await db
    .selectFrom("tier_changes")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("shop_id", "=", shopId)
    .where("kind", "=", "upgrade")
    .executeTakeFirstOrThrow();
  const outbox = await db
    .selectFrom("outbox")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("shop_id", "=", shopId)
    .where("type", "=", "tier.upgraded")
    .executeTakeFirstOrThrow();
  if (Number(changes.count) !== upgrades || Number(outbox.count) !== upgrades) {
    throw new Error(
      `${upgrades} upgrades, but ${changes.count} upgrade history lines and ${outbox.count} tier.upgraded outbox events`,
    );
  }
  // Member by member for a sample: the baseline read the generated figures, and Laurel upgraded
  // exactly the sampled members who qualify, recording those same figures.
  const sampleIds = [...tally.sample.keys()];
  const history = new Map<string, { metrics: string | null; to_tier: string }>();
  for (let start = 0; start < sampleIds.length; start += 500) {
    const rows = await db
      .selectFrom("tier_changes")
      .select(["member_id", "metrics", "to_tier"])
      .where("shop_id", "=", shopId)
      .where("member_id", "in", sampleIds.slice(start, start + 500))
      .execute();
    for (const row of rows) history.set(row.member_id, row);
  }
  let upgraded = 0;
  for (const [id, want] of tally.sample) {
    const same = (a: Activity | null | undefined) =>
      a?.spend === want.spend && a.orders === want.orders && a.points === want.points;
    const seen = baseline.sample.get(id);
    const row = history.get(id);
    const tier = tierOf(want);
    const laurelRight =
      tier === 0
        ? row === undefined
        : row !== undefined && row.to_tier === tierKeys[tier] && same(JSON.parse(row.metrics ?? "null"));
    if (!same(seen) || !laurelRight) {
      throw new Error(
        `member ${id}: generated ${JSON.stringify(want)} (${tierKeys[tier]}), baseline ${JSON.stringify(seen)}, Laurel ${row ? `${row.metrics} → ${row.to_tier}` : "no change"}`,
      );
    }
    if (row) upgraded++;
  }
  return `${describeCounts(counts)} (Laurel, the baseline and the generated data agree; ${count(upgrades)} upgrades with as many history lines and outbox events; ${tally.sample.size} sampled members exact in the baseline, the ${upgraded} of them upgraded carry the generated spend, orders and points in their history line, the others have none)`;
}

// ---------------------------------------------------------------------------------------------

interface DialectResult {
  measurements: Measurement[];
  notes: string[];
}

/** The 1-minute load average: on a shared machine it says how much of the CPUs the bench had. */
function loadNow(): string {
  return (loadavg()[0] ?? 0).toFixed(1);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function megabytes(value: number): string {
  return `${Math.round(value)} MiB`;
}

function describeMemory(memory: MemoryPeak): string {
  return `RSS ${megabytes(memory.rssBefore)} → peak ${megabytes(memory.rssPeak)} (+${megabytes(memory.rssPeak - memory.rssBefore)}), heap ${megabytes(memory.heapBefore)} → peak ${megabytes(memory.heapPeak)}, ${memory.samples} RSS samples`;
}

async function measureDialect(dialect: Dialect, sampler: MemorySampler): Promise<DialectResult> {
  const loadBefore = loadNow();
  let target: BenchDatabase | undefined;
  let database: DatabaseHandle | undefined;
  try {
    target = await createBenchDatabase(dialect);
    database = openDatabase(target.url);
    await migrateToLatest(database.db);
    // Whole seconds, so the window's ends are plain.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const setupAt = new Date(now.getTime() - 60_000);
    const shop: Shop = await withTransaction(database, async (trx) => {
      const created = await createShopWithKeys(
        trx,
        { name: "Bench Outfitters", baseCurrency: shopCurrency, timezone: "UTC", defaultLocale: "en-US" },
        setupAt,
      );
      await saveProgram(trx, created.shop, program, systemActor, setupAt);
      return created.shop;
    });
    const shopId = shop.id;
    const members = memberCounts[dialect];
    const label = count(members);
    const generator = new Generator(shopId, now, members);
    const ruleId = newId("rule", setupAt);
    const seedStarted = performance.now();
    if (dialect === "sqlite") await seedSqlite(target.url, generator, shopId, ruleId);
    else await seedPostgres(target.url, generator, shopId, ruleId);
    const seedMs = performance.now() - seedStarted;
    const { tally } = generator;

    // 1. The baseline, on its own connection to the same database, before Laurel writes anything.
    const window: Window = { from: addMonths(now.toISOString(), -12), to: now.toISOString() };
    const counter = new TierCounter(new Set(tally.sample.keys()));
    const baselineUrl = target.url;
    const baselineRun = await sampler.during(async () => {
      const started = performance.now();
      if (dialect === "sqlite") await sqliteBaseline(baselineUrl, shopId, window, counter, sampler.sample);
      else await postgresBaseline(baselineUrl, shopId, window, counter, sampler.sample);
      return performance.now() - started;
    });
    const baselineMs = baselineRun.result;

    // 2. Laurel: the --all sweep, as `laurel tiers reevaluate --all` runs it.
    const handle = database;
    let progressCalls = 0;
    const laurelRun = await sampler.during(async () => {
      const started = performance.now();
      const result = await reevaluateAllMembers(handle, shopId, now, () => {
        progressCalls++;
        sampler.sample();
      });
      return { ms: performance.now() - started, result };
    });
    const laurelMs = laurelRun.result.ms;
    const sweep = laurelRun.result.result;
    const sanity = await checkRun(database, shopId, tally, counter.result, sweep);

    const measurements: Measurement[] = [];
    const add = (fields: Omit<Measurement, "ratio" | "dialect">) =>
      measurements.push(measurement({ dialect, ...fields }));
    add({
      name: `members re-evaluated per second (${label} members)`,
      unit: "members/s",
      better: "higher",
      laurel: members / (laurelMs / 1000),
      baseline: members / (baselineMs / 1000),
    });
    add({
      name: `re-evaluation of ${label} members, wall time`,
      unit: "ms",
      better: "lower",
      laurel: laurelMs,
      baseline: baselineMs,
    });
    // The growth during each run is in the memory note: beside a baseline that grows by nothing,
    // a ratio of it would say little.
    add({
      name: "peak RSS of the process during the run",
      unit: "MiB",
      better: "lower",
      laurel: laurelRun.memory.rssPeak,
      baseline: baselineRun.memory.rssPeak,
    });
    const notes = [
      `${dialect}: ${count(tally.members)} members, ${count(tally.orders)} orders (${count(tally.cancelled)} cancelled, ${count(tally.fullyRefunded)} fully and ${count(tally.partlyRefunded)} partly refunded) and as many event_awards rows, seeded in ${seconds(seedMs)} (not timed).`,
      `${dialect}: Laurel ${seconds(laurelMs)}, ${count(sweep.changed)} upgrades (${((sweep.changed / members) * 100).toFixed(1)} %), ${count(progressCalls)} chunks of up to 1,000; baseline ${seconds(baselineMs)}, counting ${describeCounts(counter.result.tiers)}.`,
      `${dialect} memory: Laurel ${describeMemory(laurelRun.memory)}; baseline ${describeMemory(baselineRun.memory)}.`,
      `${dialect} after the run: ${sanity}.`,
    ];
    if (dialect === "sqlite") {
      const atTarget = (laurelMs / members) * targetMembers;
      notes.push(
        members === targetMembers
          ? `Target: re-evaluating ${count(targetMembers)} members on SQLite in under ${targetMs / 60_000} minutes — ${laurelMs < targetMs ? "met" : "NOT met"} (${seconds(laurelMs)}).`
          : `Target: ${count(targetMembers)} members on SQLite in under ${targetMs / 60_000} minutes; this run had ${label} (${seconds(laurelMs)}; ${seconds(atTarget)} at this rate for ${count(targetMembers)}).`,
      );
    } else if (members < sqliteMembers) {
      notes.push(
        `PostgreSQL ran ${label} members, not ${count(sqliteMembers)}: Laurel's sweep there is slow enough (about ${count(Math.round(members / (laurelMs / 1000)))} members/s in this run) that ${count(sqliteMembers)} would take ${seconds((laurelMs / members) * sqliteMembers)}; set LAUREL_BENCH_TIER_POSTGRES_MEMBERS to choose.`,
      );
    }
    notes.push(`${dialect} 1-minute load average at the start and end: ${loadBefore} → ${loadNow()}.`);
    return { measurements, notes };
  } finally {
    await database?.close();
    await target?.drop();
  }
}

/** `reevaluateAllMembers` over every member of a seeded shop, against one raw SQL aggregation of the same data. */
export async function run(): Promise<BenchReport> {
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const sampler = new MemorySampler();
  try {
    for (const dialect of benchDialects) {
      const result = await measureDialect(dialect, sampler);
      measurements.push(...result.measurements);
      notes.push(...result.notes);
    }
  } finally {
    await sampler.close();
  }
  const sizes = benchDialects.map((dialect) => `${dialect} ${count(memberCounts[dialect])}`).join(", ");
  return {
    title: `Tier re-evaluation of every active member (${sizes} members) by reevaluateAllMembers, rolling 12-month window, 3 tiers, against one raw SQL aggregation of the same orders and awards, streamed`,
    notes: [
      `Program: member → silver (spend ${silver.spend / 100} USD or ${silver.orders} orders) → gold (spend ${gold.spend / 100} USD or ${gold.orders} orders) in 12 rolling months, any threshold enough, no entry rewards: a first run upgrades about a quarter of the members, so the write path (member_tiers, tier_changes, outbox) is measured too.`,
      `Data (seeded PRNG, same every run and dialect; not timed): members joined over the two years before the window, each with a zero points account; 0–10 orders each (about 4 on average) of 10.00–200.00 USD paid over the 12 months before the run, shop_total = total; 2 % cancelled, 5 % fully and 5 % partly refunded with their points reversed; one event_awards row per order (points = total / 10, occurred_at = paid_at, one rule). Written with raw multi-row inserts (SQLite) or unnest (PostgreSQL); no events or ledger rows. PostgreSQL gets VACUUM ANALYZE after the load; SQLite a WAL checkpoint.`,
      "Order: the baseline runs first, then Laurel, on the same database and data.",
      "Laurel: reevaluateAllMembers(database, shop, now) through Laurel's own handle (SQLite: one connection with Laurel's pragmas; PostgreSQL: the pool), timed from call to return.",
      "Baseline: one hand-written statement giving every active member's spend net of refunds, qualifying orders and points (awards less points reversed) over the same window, streamed, each member's tier counted in plain JS; it writes nothing. PostgreSQL: members left-joined to orders and to event_awards grouped by member, under DECLARE CURSOR in a transaction, FETCH 10,000 at a time (the plan is a merge join of index-ordered group aggregates). SQLite: the same sums as correlated subqueries per member in id order, through better-sqlite3 .iterate() on its own connection with Laurel's pragmas (SQLite materializes the joined GROUP BY form first: as fast, but its memory grows with the members).",
      "Memory: a worker thread samples the process RSS every 100 ms (it keeps sampling while SQLite work blocks the main thread); the main thread reads its heap on a 100 ms timer and after every chunk. RSS is not returned to the system at once, so the start of Laurel's run may include what the baseline left; 'above the start' is the growth during each run.",
      ...notes,
      `${cpus().length} CPUs; the database server (PostgreSQL) shares them with the bench.`,
    ],
    measurements,
  };
}
