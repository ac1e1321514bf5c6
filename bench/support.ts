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
