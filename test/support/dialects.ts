import type { Dialect } from "../../src/platform/db/database.js";
import { createScratchDatabase, type ScratchDatabase } from "./scratch-database.js";

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

export type TestDatabaseUrl = ScratchDatabase;

/** A fresh, empty database of the dialect; every test file (or test) gets its own. */
export async function createTestDatabaseUrl(dialect: Dialect): Promise<TestDatabaseUrl> {
  if (dialect === "postgres" && !postgresUrl) throw new Error(postgresSkipReason);
  return createScratchDatabase(dialect, { postgresUrl, prefix: "t" });
}
