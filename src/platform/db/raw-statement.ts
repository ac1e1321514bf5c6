import { CompiledQuery, type Kysely, PostgresAdapter } from "kysely";
import type { Database } from "./schema.js";

/**
 * A fixed SQL statement run without Kysely's query builder, for the few statements on the hottest
 * paths (every points change runs them): building and compiling a query costs several
 * microseconds each time, more than SQLite takes to run it. Write the SQL with `?` placeholders;
 * PostgreSQL gets `$1, $2, …`. Use only portable SQL, and keep column lists explicit.
 */
export function rawStatement<Row = unknown>(text: string | { sqlite: string; postgres: string }) {
  const sqliteText = typeof text === "string" ? text : text.sqlite;
  let index = 0;
  const numbered = (typeof text === "string" ? text : text.postgres).replace(/\?/g, () => `$${++index}`);
  return async (db: Kysely<Database>, parameters: readonly unknown[]): Promise<Row[]> => {
    const result = await db.executeQuery<Row>(
      CompiledQuery.raw(isPostgres(db) ? numbered : sqliteText, parameters as unknown[]),
    );
    return result.rows;
  };
}

// A transaction's Kysely instance is made per transaction; its executor's adapter says the dialect.
function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * `insert into <table> (<columns>) values (?, …), (?, …) <suffix>` for `rows` rows, made once per
 * row count and kept, so multi-row inserts get the same treatment as fixed statements. The suffix
 * is portable SQL such as `on conflict (…) do nothing returning id`; the rows it returns are returned.
 */
export function rawInsert(table: string, columns: readonly string[], suffix = "") {
  const statements = new Map<number, ReturnType<typeof rawStatement>>();
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  return async (db: Kysely<Database>, rows: ReadonlyArray<readonly unknown[]>): Promise<unknown[]> => {
    if (rows.length === 0) return [];
    let statement = statements.get(rows.length);
    if (!statement) {
      const values = Array.from({ length: rows.length }, () => tuple).join(", ");
      statement = rawStatement(`insert into ${table} (${columns.join(", ")}) values ${values} ${suffix}`.trim());
      statements.set(rows.length, statement);
    }
    return statement(db, rows.flat());
  };
}

/** Column lists checked against the table types, so a raw insert cannot name a wrong column. */
export function columnsOf<Row>() {
  return <const Columns extends ReadonlyArray<keyof Row & string>>(columns: Columns) => ({
    columns,
    values: (row: Row) => columns.map((column) => row[column]),
  });
}
