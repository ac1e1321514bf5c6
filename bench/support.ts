import autocannon from "autocannon";
import type { FastifyInstance } from "fastify";
import type { Dialect } from "../src/platform/db/database.js";
import { createScratchDatabase, type ScratchDatabase } from "../test/support/scratch-database.js";

/**
 * The shape every `bench/*.bench.ts` file follows: it exports
 * `async function run(): Promise<BenchReport>`, and `bench/run.ts` prints and records the report.
 * Each measurement carries Laurel's figure beside a raw baseline measured in the same run, so a
 * number is always read against what the machine can do without Laurel.
 */
export interface BenchReport {
  /** One line about what is measured and how (load, duration, what the baseline is). */
  title: string;
  /** Conditions a reader must know to interpret the numbers (e.g. rate limiting turned off). */
  notes: string[];
  measurements: Measurement[];
}

export interface Measurement {
  dialect: Dialect;
  /** What was measured, e.g. "GET /v1/shop throughput". */
  name: string;
  /**
   * tx/s: ledger transactions (e.g. earns) per second, however many share a database transaction.
   * members/s: members evaluated per second. MiB: memory (2^20 bytes).
   */
  unit: "req/s" | "tx/s" | "members/s" | "ms" | "MiB";
  /** Whether a larger figure is better (throughput) or worse (latency). */
  better: "higher" | "lower";
  laurel: number;
  baseline: number;
  /** laurel / baseline. */
  ratio: number;
}

export type BenchRun = () => Promise<BenchReport>;

export function measurement(fields: Omit<Measurement, "ratio">): Measurement {
  return { ...fields, ratio: fields.baseline === 0 ? Number.NaN : fields.laurel / fields.baseline };
}

const postgresUrl = process.env.LAUREL_BENCH_DATABASE_URL?.trim() || undefined;

if (postgresUrl !== undefined && !/^postgres(ql)?:\/\//.test(postgresUrl)) {
  throw new Error("LAUREL_BENCH_DATABASE_URL must be a postgres:// URL");
}

/** SQLite always; PostgreSQL as well when LAUREL_BENCH_DATABASE_URL is set. */
export const benchDialects: Dialect[] = postgresUrl ? ["sqlite", "postgres"] : ["sqlite"];

export type BenchDatabase = ScratchDatabase;

/** A fresh, empty database for one bench, so a bench never touches existing tables. */
export async function createBenchDatabase(dialect: Dialect): Promise<BenchDatabase> {
  if (dialect === "postgres" && !postgresUrl) {
    throw new Error("set LAUREL_BENCH_DATABASE_URL=postgres://… to benchmark PostgreSQL");
  }
  return createScratchDatabase(dialect, { postgresUrl, prefix: "bench" });
}

/** Starts `app` on a free port of 127.0.0.1 and answers its origin, e.g. `http://127.0.0.1:41234`. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return `http://127.0.0.1:${address.port}`;
}

export interface Load {
  requestsPerSecond: number;
  p50Milliseconds: number;
  p99Milliseconds: number;
  /** 2xx answers received (requests still in flight when the time ran out are not counted). */
  successes: number;
}

/**
 * Fires the requests `options` describe for `options.duration` seconds. autocannon runs in a worker
 * thread so the load generator does not share the server's event loop (a `setupRequest` must then
 * be a file path). Any non-2xx answer or socket error makes the figure meaningless, so it stops the
 * bench instead of being averaged in; `label` names the target in that error.
 */
export async function fire(label: string, options: autocannon.Options & { duration: number }): Promise<Load> {
  const result = await autocannon({ ...options, workers: 1 });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${label}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts in ${options.duration} s`,
    );
  }
  return {
    requestsPerSecond: result.requests.average,
    p50Milliseconds: result.latency.p50,
    p99Milliseconds: result.latency.p99,
    successes: result["2xx"],
  };
}
