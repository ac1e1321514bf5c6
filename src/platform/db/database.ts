import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";

export type Dialect = "sqlite" | "postgres";

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

// PostgreSQL returns bigint (int8) as a string because it can exceed 2^53. Laurel's bigints are
// points, minor money units and counts, all far below that, so they are read as numbers — and a
// value that would lose precision is an error rather than a silently wrong balance.
pg.types.setTypeParser(20, (text) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} exceeds the safe integer range`);
  return value;
});

/** Opens `file:<path>` as SQLite or `postgres://…` as a PostgreSQL pool. */
export function openDatabase(url: string, options: { poolSize?: number } = {}): DatabaseHandle {
  if (url.startsWith("file:")) return openSqlite(url.slice("file:".length));
  return openPostgres(url, options.poolSize ?? 10);
}

function openSqlite(path: string): DatabaseHandle {
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  const connection = new SqliteDatabase(path);
  connection.pragma("journal_mode = WAL");
  // NORMAL in WAL mode never corrupts the database; a power cut may lose the last commits,
  // which the fsync-per-commit FULL mode would keep at several times the cost per write.
  connection.pragma("synchronous = NORMAL");
  connection.pragma("foreign_keys = ON");
  connection.pragma("busy_timeout = 5000");
  // Savepoints (one per event in a batch) write statement journals; keep them in memory.
  connection.pragma("temp_store = MEMORY");
  // 64 MiB of page cache (the default is 2 MiB): a busy shop's indexes stay in memory. Allocated
  // only as pages are read.
  connection.pragma("cache_size = -65536");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
  return {
    db,
    dialect: "sqlite",
    close: async () => {
      await db.destroy();
    },
  };
}

const statementCacheSize = 500;

/**
 * Kysely asks better-sqlite3 to prepare every query afresh, and preparing costs about as much as
 * running a small query. Laurel issues the same few hundred SQL texts over and over, so prepared
 * statements are kept and reused. Reuse is safe: Kysely's SQLite driver runs one query at a time
 * on its single connection. The cache is cleared when full rather than tracking recency.
 */
function withStatementCache(connection: SqliteDatabase.Database) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => connection.close(),
    prepare: (text: string) => {
      let statement = statements.get(text);
      if (!statement) {
        if (statements.size >= statementCacheSize) statements.clear();
        statement = connection.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

function openPostgres(url: string, poolSize: number): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: "postgres",
    close: async () => {
      await db.destroy();
    },
  };
}

/** True when the database answers a trivial query (used by /readyz). */
export async function isDatabaseReachable(handle: DatabaseHandle): Promise<boolean> {
  try {
    await sql`select 1`.execute(handle.db);
    return true;
  } catch {
    return false;
  }
}
