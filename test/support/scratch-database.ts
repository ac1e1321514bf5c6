import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Dialect } from "../../src/platform/db/database.js";

export interface ScratchDatabase {
  url: string;
  /** Removes the database: the temp SQLite directory or the PostgreSQL schema. */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for tests and benchmarks: a temp SQLite file, or a new schema in the
 * PostgreSQL database at `postgresUrl`, selected through the connection's search_path, so no two
 * users see each other's rows and nothing existing is touched.
 */
export async function createScratchDatabase(
  dialect: Dialect,
  options: { postgresUrl: string | undefined; prefix: string },
): Promise<ScratchDatabase> {
  if (dialect === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), `laurel-${options.prefix}-`));
    return {
      url: `file:${join(directory, "laurel.db")}`,
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  const postgresUrl = options.postgresUrl;
  if (!postgresUrl) throw new Error("no PostgreSQL URL configured");
  const schema = `${options.prefix}_${randomBytes(8).toString("hex")}`;
  await runAdminStatement(postgresUrl, `create schema ${schema}`);
  const url = new URL(postgresUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: () => runAdminStatement(postgresUrl, `drop schema if exists ${schema} cascade`),
  };
}

async function runAdminStatement(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
