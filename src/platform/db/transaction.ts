import { type Kysely, sql } from "kysely";
import type { DatabaseHandle } from "./database.js";
import type { Database } from "./schema.js";

/** A database handle inside an open transaction. Functions that write take one of these. */
export type Tx = Kysely<Database>;

/**
 * Runs `work` in one transaction on one connection, committing when it resolves and rolling back
 * when it throws. On SQLite the transaction starts IMMEDIATE: it takes the write lock up front, so
 * a second process (the CLI beside a server) waits on busy_timeout instead of failing mid-way when
 * a read would have to upgrade to a write. SQLite has one writer: keep these transactions short.
 */
export async function withTransaction<T>(handle: DatabaseHandle, work: (trx: Tx) => Promise<T>): Promise<T> {
  const begin = handle.dialect === "sqlite" ? sql`begin immediate` : sql`begin`;
  return handle.db.connection().execute(async (connection) => {
    await begin.execute(connection);
    let result: T;
    try {
      result = await work(connection);
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
    await sql`commit`.execute(connection);
    return result;
  });
}
