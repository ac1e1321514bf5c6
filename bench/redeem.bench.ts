import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type autocannon from "autocannon";
import Fastify, { type FastifyInstance } from "fastify";
import { sql } from "kysely";
import { buildApp } from "../src/app.js";
import { creditPoints, systemActor, verifyLedger } from "../src/modules/ledger/index.js";
import { createMember } from "../src/modules/members/index.js";
import { redeemReward } from "../src/modules/rewards/index.js";
import { createShopWithKeys, getShop } from "../src/modules/shops/index.js";
import { systemClock } from "../src/platform/clock.js";
import { loadConfig } from "../src/platform/config.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "../src/platform/db/database.js";
import { migrateToLatest } from "../src/platform/db/migrate.js";
import { withTransaction } from "../src/platform/db/transaction.js";
import { createLogger } from "../src/platform/logger.js";
import { seededRandom } from "../test/support/random.js";
import {
  type BenchReport,
  benchDialects,
  createBenchDatabase,
  fire,
  type Load,
  listen,
  type Measurement,
  measurement,
} from "./support.js";

function numberFromEnv(name: string, integer: boolean): number | undefined {
  const text = process.env[name]?.trim().replaceAll("_", "");
  if (!text) return undefined;
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? "integer" : "number"}, not "${text}"`);
  }
  return value;
}

/** Seconds each side is measured, per route: LAUREL_BENCH_REDEEM_SECONDS, 5 unless set. */
const measureSeconds = numberFromEnv("LAUREL_BENCH_REDEEM_SECONDS", false) ?? 5;
/** Seconds of warm-up per side and route: LAUREL_BENCH_REDEEM_WARMUP_SECONDS, 2 unless set. */
const warmUpSeconds = numberFromEnv("LAUREL_BENCH_REDEEM_WARMUP_SECONDS", false) ?? 2;
/** Concurrent HTTP connections: LAUREL_BENCH_REDEEM_CONNECTIONS, 50 (as the http bench) unless set. */
const connections = numberFromEnv("LAUREL_BENCH_REDEEM_CONNECTIONS", true) ?? 50;
/** Members, each with its own points and one code of the validation pool: LAUREL_BENCH_REDEEM_MEMBERS. */
const memberCount = numberFromEnv("LAUREL_BENCH_REDEEM_MEMBERS", true) ?? 1_000;
/** Members created and credited per transaction while seeding. */
const seedChunk = 500;
/** Points credited to each member: enough for 10,000 redemptions each, so no run comes near the end. */
const seedPoints = 1_000_000;
const rewardPoints = 100;
const currency = "EUR";
const rewardAmount = 500;
const minOrder = 2_500;
/** Carts of the validation pool: totals drawn from [minOrder, maxCart) minor units, so every code applies. */
const maxCart = 20_000;
const seed = 20_261_125;

function count(value: number): string {
  return value.toLocaleString("en-US");
}

/** One request of a rotation: where it goes and what it sends. */
interface Planned {
  path: string;
  body: string;
}

/**
 * autocannon runs in a worker thread, so a function that varies requests has to come from a file it
 * can require. Each request takes the next entry, whichever connection sends it.
 */
function writeRotation(directory: string, name: string, planned: Planned[]): string {
  const path = join(directory, `${name}.cjs`);
  writeFileSync(
    path,
    `"use strict";\nconst planned = ${JSON.stringify(planned)};\nlet next = 0;\n` +
      "module.exports = (request) => {\n  const item = planned[next++ % planned.length];\n" +
      "  request.path = item.path;\n  request.body = item.body;\n  return request;\n};\n",
  );
  return path;
}

/** The same rotation of POSTs at either server, so Laurel and the baseline get byte-identical requests. */
function poster(token: string, setupRequest: string) {
  return (label: string, origin: string, seconds: number): Promise<Load> =>
    fire(label, {
      url: origin,
      connections,
      duration: seconds,
      requests: [
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          // A file path in worker mode; the typings only know the in-process function form.
          setupRequest: setupRequest as unknown as autocannon.Request["setupRequest"],
        },
      ],
    });
}

async function post(origin: string, token: string, path: string, body: unknown, expected: number): Promise<unknown> {
  const response = await fetch(`${origin}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== expected) {
    throw new Error(`POST ${path} answered ${response.status} (expected ${expected}): ${await response.text()}`);
  }
  return response.json();
}

interface Seeded {
  shopId: string;
  token: string;
  memberIds: string[];
}

/** A shop, its members and their points, written by Laurel's own code in big transactions (not timed). */
async function seedShop(database: DatabaseHandle): Promise<Seeded> {
  const now = systemClock.now();
  const created = await withTransaction(database, (trx) =>
    createShopWithKeys(
      trx,
      { name: "Bench Coffee", baseCurrency: currency, timezone: "Europe/Berlin", defaultLocale: "de-DE" },
      now,
    ),
  );
  const shopId = created.shop.id;
  const memberIds: string[] = [];
  while (memberIds.length < memberCount) {
    const size = Math.min(seedChunk, memberCount - memberIds.length);
    const ids = await withTransaction(database, async (trx) => {
      const chunk: string[] = [];
      for (let index = 0; index < size; index++) {
        const member = await createMember(trx, { shopId, status: "active" }, now);
        await creditPoints(
          trx,
          { shopId, memberId: member.id, type: "import", amount: seedPoints, reason: "bench", actor: systemActor },
          now,
        );
        chunk.push(member.id);
      }
      return chunk;
    });
    memberIds.push(...ids);
  }
  return { shopId, token: created.secretKey.token, memberIds };
}

/** One redemption per member through the service in one transaction: the codes the validation fires at. */
async function issueCodePool(database: DatabaseHandle, seeded: Seeded, rewardId: string): Promise<Planned[]> {
  const random = seededRandom(seed);
  const rows = await withTransaction(database, async (trx) => {
    const shop = await getShop(trx, seeded.shopId);
    const issued = [];
    for (const memberId of seeded.memberIds) {
      issued.push(await redeemReward(trx, { shop, memberId, rewardId, actor: systemActor }, systemClock.now()));
    }
    return issued;
  });
  return rows.map((row) => {
    if (row.code === null) throw new Error(`redemption ${row.id} has no code`);
    const total = minOrder + Math.floor(random() * (maxCart - minOrder));
    return {
      path: "/v1/codes/validate",
      body: JSON.stringify({ code: row.code, cart: { total, currency }, member_id: row.member_id }),
    };
  });
}

/**
 * Waits until no redemption is still being written (autocannon stops with requests in flight; the
 * server finishes them after it has gone), then checks what the load wrote: a sound ledger, one
 * ledger transaction per seed credit and per redemption, and no fewer redemptions than answered 201.
 */
async function checkRedemptions(
  database: DatabaseHandle,
  seeded: Seeded,
  rewardId: string,
  answered: number,
): Promise<number> {
  const read = async () => {
    const result = await sql<{ redemptions: number | string }>`
      select count(*) as redemptions from redemptions where shop_id = ${seeded.shopId} and reward_id = ${rewardId}
    `.execute(database.db);
    const row = result.rows[0];
    if (!row) throw new Error("no counts");
    return { rows: Number(row.redemptions) };
  };
  let counts = await read();
  for (let attempt = 0; attempt < 50; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await read();
    const settled = again.rows === counts.rows;
    counts = again;
    if (settled) break;
  }
  if (counts.rows < answered) {
    throw new Error(`${answered} redemptions answered 201 but the database holds ${counts.rows}`);
  }
  const report = await verifyLedger(database.db, { shopId: seeded.shopId });
  if (report.transactions !== seeded.memberIds.length + counts.rows) {
    throw new Error(
      `the ledger holds ${report.transactions} transactions, not ${seeded.memberIds.length} credits + ${counts.rows} redemptions`,
    );
  }
  if (report.problems.length > 0) {
    const sample = report.problems
      .slice(0, 5)
      .map((problem) => `${problem.check} ${problem.subject}: ${problem.detail}`)
      .join("; ");
    throw new Error(`verifyLedger found ${report.problems.length} problems, e.g. ${sample}`);
  }
  return counts.rows;
}

/** Laurel's load and the baseline's, each after a warm-up of its own, the same rotation at both. */
async function compare(
  label: string,
  fireAt: (label: string, origin: string, seconds: number) => Promise<Load>,
  laurelOrigin: string,
  baselineOrigin: string,
) {
  const warmUp = await fireAt(`Laurel ${label}`, laurelOrigin, warmUpSeconds);
  await fireAt(`baseline ${label}`, baselineOrigin, warmUpSeconds);
  const laurel = await fireAt(`Laurel ${label}`, laurelOrigin, measureSeconds);
  const baseline = await fireAt(`baseline ${label}`, baselineOrigin, measureSeconds);
  return { laurel, baseline, laurelAnswered: warmUp.successes + laurel.successes };
}

function figures(dialect: Dialect, route: string, laurel: Load, baseline: Load): Measurement[] {
  return [
    measurement({
      dialect,
      name: `${route} throughput`,
      unit: "req/s",
      better: "higher",
      laurel: laurel.requestsPerSecond,
      baseline: baseline.requestsPerSecond,
    }),
    measurement({
      dialect,
      name: `${route} p50 latency`,
      unit: "ms",
      better: "lower",
      laurel: laurel.p50Milliseconds,
      baseline: baseline.p50Milliseconds,
    }),
    measurement({
      dialect,
      name: `${route} p99 latency`,
      unit: "ms",
      better: "lower",
      laurel: laurel.p99Milliseconds,
      baseline: baseline.p99Milliseconds,
    }),
  ];
}

async function measureDialect(dialect: Dialect, notes: string[]): Promise<Measurement[]> {
  const target = await createBenchDatabase(dialect);
  const config = loadConfig(
    {
      LAUREL_DATABASE_URL: target.url,
      LAUREL_RATE_LIMIT: "0",
      LAUREL_LOG_LEVEL: "silent",
      LAUREL_DEMO_SHOP: "false",
    },
    { isTerminal: false },
  );
  const database = openDatabase(config.databaseUrl);
  const directory = mkdtempSync(join(tmpdir(), "laurel-bench-redeem-"));
  let laurel: FastifyInstance | undefined;
  let baseline: FastifyInstance | undefined;
  try {
    await migrateToLatest(database.db);
    const seeded = await seedShop(database);
    const { token } = seeded;
    laurel = await buildApp({ config, database, clock: systemClock, logger: createLogger(config) });
    const laurelOrigin = await listen(laurel);

    const reward = (await post(
      laurelOrigin,
      token,
      "/v1/rewards",
      {
        type: "amount_off",
        name: { en: "€5 off", de: "5 € Rabatt" },
        value: { amounts: [{ amount: rewardAmount, currency }] },
        cost: { type: "fixed", points: rewardPoints },
        min_order: [{ amount: minOrder, currency }],
        stock: null,
        per_member_limit: null,
      },
      201,
    )) as { id: string };
    const validations = await issueCodePool(database, seeded, reward.id);
    const redemptions: Planned[] = seeded.memberIds.map((id) => ({
      path: `/v1/members/${id}/redemptions`,
      body: JSON.stringify({ reward_id: reward.id }),
    }));

    // Probes: each route answers as it should, and its body is what the baseline sends back.
    const firstValidation = validations[0] as Planned;
    const validationBody = (await post(
      laurelOrigin,
      token,
      firstValidation.path,
      JSON.parse(firstValidation.body),
      200,
    )) as { applies: boolean; discount: unknown };
    if (!validationBody.applies) throw new Error(`the probe code does not apply: ${JSON.stringify(validationBody)}`);
    const firstRedemption = redemptions[0] as Planned;
    const redemptionBody = await post(laurelOrigin, token, firstRedemption.path, JSON.parse(firstRedemption.body), 201);

    baseline = Fastify({ logger: false });
    baseline.post("/v1/codes/validate", async () => validationBody);
    baseline.post("/v1/members/:id/redemptions", async (_request, reply) => reply.code(201).send(redemptionBody));
    const baselineOrigin = await listen(baseline);

    // Validation first: it reads a table holding exactly the pool (and the probe), whatever the
    // redemption load then adds.
    const validate = await compare(
      "POST /v1/codes/validate",
      poster(token, writeRotation(directory, "validations", validations)),
      laurelOrigin,
      baselineOrigin,
    );
    const redeem = await compare(
      "POST /v1/members/{id}/redemptions",
      poster(token, writeRotation(directory, "redemptions", redemptions)),
      laurelOrigin,
      baselineOrigin,
    );

    await laurel.close();
    laurel = undefined;
    // The pool, the probe and every redemption answered during warm-up and measurement.
    const answered = seeded.memberIds.length + 1 + redeem.laurelAnswered;
    const rows = await checkRedemptions(database, seeded, reward.id, answered);
    notes.push(
      `${dialect}: ${count(seeded.memberIds.length)} members seeded and ${count(rows)} redemptions written in all (pool, probe, warm-up, measurement, requests in flight at the end); ledger verified.`,
    );

    return [
      ...figures(dialect, "POST /v1/members/{id}/redemptions", redeem.laurel, redeem.baseline),
      ...figures(dialect, "POST /v1/codes/validate", validate.laurel, validate.baseline),
    ];
  } finally {
    await laurel?.close();
    await baseline?.close();
    await database.close();
    await target.drop();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Redeeming a reward and validating a code through the real server over HTTP, against bare Fastify routes. */
export async function run(): Promise<BenchReport> {
  const measurements: Measurement[] = [];
  const dialectNotes: string[] = [];
  for (const dialect of benchDialects) measurements.push(...(await measureDialect(dialect, dialectNotes)));
  return {
    title: `Rewards over HTTP on 127.0.0.1: autocannon, ${connections} connections, ${measureSeconds} s per route and side after a ${warmUpSeconds} s warm-up; ${count(memberCount)} members`,
    notes: [
      "Rate limiting is off for this bench (LAUREL_RATE_LIMIT=0); logging is silent.",
      `Setup (not timed): ${count(memberCount)} active members, each credited ${count(seedPoints)} points (one import per member through creditPoints, ${seedChunk} members per transaction); one amount_off reward (${rewardAmount} ${currency} minor units off a cart of at least ${minOrder}, fixed cost ${rewardPoints} points, no stock limit, no per-member limit) created with POST /v1/rewards; one code per member issued through redeemReward in one transaction.`,
      `Redemptions: POST /v1/members/{id}/redemptions {"reward_id": …} with the secret key, each request the next member round-robin (a member comes back every ${count(memberCount)} requests, so concurrent requests almost never share a member's lock). Each is a full redemption: member lock, reward checks, a ledger debit, a new unique code, an outbox event.`,
      "Every redemption is of the same reward, without stock: a redemption of an unlimited reward never writes the reward's row (a reward with stock takes its unit by a conditional update of that row, last in the transaction).",
      "Redemptions are sent without an Idempotency-Key: a client that sends one (as the API recommends) adds a key row insert and its completion to every request.",
      `Validations: POST /v1/codes/validate {"code", "cart": {"total", "currency"}, "member_id"} cycling through the ${count(memberCount)} issued codes, carts drawn from a seeded PRNG between ${minOrder} and ${maxCart} ${currency} minor units so every code applies; reads only. Measured before the redemption load.`,
      "Baseline: a bare Fastify app in the same process with the same two routes (POST /v1/codes/validate, POST /v1/members/:id/redemptions), parsing the JSON body and answering with the body Laurel gave to a probe request (same status, same bytes); no auth, no schema, no database. autocannon sends it the very same requests.",
      "After the load the bench checks that no request answered 201 without a row, and runs verifyLedger; a problem fails the bench.",
      "The load generator runs in a worker thread of the same process, so it shares the machine's CPUs. autocannon records latency in whole milliseconds.",
      "Overrides: LAUREL_BENCH_REDEEM_SECONDS, LAUREL_BENCH_REDEEM_WARMUP_SECONDS, LAUREL_BENCH_REDEEM_CONNECTIONS, LAUREL_BENCH_REDEEM_MEMBERS.",
      ...dialectNotes,
    ],
    measurements,
  };
}
