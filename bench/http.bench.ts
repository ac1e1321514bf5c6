import Fastify, { type FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { createShopWithKeys } from "../src/modules/shops/index.js";
import { systemClock } from "../src/platform/clock.js";
import { loadConfig } from "../src/platform/config.js";
import { type Dialect, openDatabase } from "../src/platform/db/database.js";
import { migrateToLatest } from "../src/platform/db/migrate.js";
import { withTransaction } from "../src/platform/db/transaction.js";
import { createLogger } from "../src/platform/logger.js";
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

const connections = 50;
const warmUpSeconds = 2;
const measureSeconds = 5;

/** GETs `url` for `seconds` with the bench's connections (see `fire` in support.ts). */
function fireGet(url: string, headers: Record<string, string>, seconds: number): Promise<Load> {
  return fire(url, { url, headers, connections, duration: seconds });
}

async function measureDialect(dialect: Dialect): Promise<Measurement[]> {
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
  let laurel: FastifyInstance | undefined;
  let baseline: FastifyInstance | undefined;
  try {
    await migrateToLatest(database.db);
    const created = await withTransaction(database, (trx) =>
      createShopWithKeys(
        trx,
        { name: "Bench Coffee", baseCurrency: "EUR", timezone: "Europe/Berlin", defaultLocale: "de-DE" },
        systemClock.now(),
      ),
    );
    laurel = await buildApp({ config, database, clock: systemClock, logger: createLogger(config) });
    const laurelUrl = `${await listen(laurel)}/v1/shop`;
    const headers = { authorization: `Bearer ${created.secretKey.token}` };

    const probe = await fetch(laurelUrl, { headers });
    if (!probe.ok) throw new Error(`GET /v1/shop answered ${probe.status}: ${await probe.text()}`);
    // The baseline answers with the very body Laurel sends, so both serialise the same bytes.
    const shopBody: unknown = await probe.json();

    baseline = Fastify({ logger: false });
    baseline.get("/v1/shop", async () => shopBody);
    const baselineUrl = `${await listen(baseline)}/v1/shop`;

    await fireGet(laurelUrl, headers, warmUpSeconds);
    await fireGet(baselineUrl, headers, warmUpSeconds);
    const laurelLoad = await fireGet(laurelUrl, headers, measureSeconds);
    const baselineLoad = await fireGet(baselineUrl, headers, measureSeconds);

    return [
      measurement({
        dialect,
        name: "GET /v1/shop throughput",
        unit: "req/s",
        better: "higher",
        laurel: laurelLoad.requestsPerSecond,
        baseline: baselineLoad.requestsPerSecond,
      }),
      measurement({
        dialect,
        name: "GET /v1/shop p99 latency",
        unit: "ms",
        better: "lower",
        laurel: laurelLoad.p99Milliseconds,
        baseline: baselineLoad.p99Milliseconds,
      }),
    ];
  } finally {
    await laurel?.close();
    await baseline?.close();
    await database.close();
    await target.drop();
  }
}

/** Authenticated GET /v1/shop through the real server over HTTP, against a bare Fastify route. */
export async function run(): Promise<BenchReport> {
  const measurements: Measurement[] = [];
  for (const dialect of benchDialects) measurements.push(...(await measureDialect(dialect)));
  return {
    title: `GET /v1/shop over HTTP on 127.0.0.1: autocannon, ${connections} connections, ${measureSeconds} s after a ${warmUpSeconds} s warm-up`,
    notes: [
      "Rate limiting is off for this bench (LAUREL_RATE_LIMIT=0); logging is silent.",
      "Laurel: the real app from buildApp, authenticating a secret key (SHA-256 lookup) on every request.",
      "Baseline: a bare Fastify route in the same process returning the same JSON body, no auth, no database.",
      "The load generator runs in a worker thread of the same process, so it shares the machine's CPUs.",
      "autocannon records latency in whole milliseconds, so a p99 ratio is coarse when the baseline is 1 ms.",
    ],
    measurements,
  };
}
