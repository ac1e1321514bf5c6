import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Dialect } from "../src/platform/db/database.js";

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
  unit: "req/s" | "ms";
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

export interface BenchDatabase {
  url: string;
  /** Removes the database: the temp SQLite directory or the PostgreSQL schema. */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one bench: a temp SQLite file, or a new schema in the database at
 * LAUREL_BENCH_DATABASE_URL selected through the connection's search_path, so a bench never
 * touches existing tables.
 */
export async function createBenchDatabase(dialect: Dialect): Promise<BenchDatabase> {
  if (dialect === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), "laurel-bench-"));
    return {
      url: `file:${join(directory, "laurel.db")}`,
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  if (!postgresUrl) throw new Error("set LAUREL_BENCH_DATABASE_URL=postgres://… to benchmark PostgreSQL");
  const schema = `bench_${randomBytes(8).toString("hex")}`;
  await runAdminQuery(postgresUrl, `create schema ${schema}`);
  const url = new URL(postgresUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: () => runAdminQuery(postgresUrl, `drop schema if exists ${schema} cascade`),
  };
}

async function runAdminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
