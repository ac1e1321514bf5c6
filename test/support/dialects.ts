import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Dialect } from "../../src/platform/db/database.js";

/**
 * The one test-database helper. Every storage test runs once per dialect: SQLite always, and
 * PostgreSQL when LAUREL_TEST_DATABASE_URL is set. LAUREL_TEST_REQUIRE_PG=1 (CI) turns a missing
 * PostgreSQL into a failure instead of a skip.
 */
export const postgresUrl = process.env.LAUREL_TEST_DATABASE_URL?.trim() || undefined;
export const isPostgresRequired = process.env.LAUREL_TEST_REQUIRE_PG === "1";

if (isPostgresRequired && !postgresUrl) {
  throw new Error("LAUREL_TEST_REQUIRE_PG=1 but LAUREL_TEST_DATABASE_URL is not set");
}

export const dialects: Dialect[] = postgresUrl ? ["sqlite", "postgres"] : ["sqlite"];

/** Why the PostgreSQL half is not running, or undefined when it is. */
export const postgresSkipReason = postgresUrl
  ? undefined
  : "PostgreSQL tests skipped: set LAUREL_TEST_DATABASE_URL=postgres://… to run them";

export interface TestDatabaseUrl {
  url: string;
  /** Removes the database (temp file or PostgreSQL schema). */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database: a temp SQLite file, or a new PostgreSQL schema selected through the
 * connection's search_path, so every test file (or test) gets its own and none sees another's rows.
 */
export async function createTestDatabaseUrl(dialect: Dialect): Promise<TestDatabaseUrl> {
  if (dialect === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), "laurel-test-"));
    return {
      url: `file:${join(directory, "laurel.db")}`,
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  if (!postgresUrl) throw new Error(postgresSkipReason);
  const schema = `t_${randomBytes(8).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const cleaner = new pg.Client({ connectionString: postgresUrl });
      await cleaner.connect();
      await cleaner.query(`drop schema if exists ${schema} cascade`);
      await cleaner.end();
    },
  };
}
