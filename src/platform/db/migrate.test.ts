import { sql } from "kysely";
import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDialect } from "../../../test/support/app.js";
import { createTestDatabaseUrl, type TestDatabaseUrl } from "../../../test/support/dialects.js";
import { isUniqueViolation } from "./constraint-errors.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "./database.js";
import { migrateToLatest, migrationStatus } from "./migrate.js";

const timestamp = "2026-03-01T12:00:00.000Z";
const allMigrations = ["0001_foundation", "0002_ledger", "0003_members", "0004_events", "0005_tiers", "0006_rewards"];

function shopRow(id: string) {
  return {
    id,
    name: "Kestrel Coffee",
    base_currency: "EUR",
    timezone: "Europe/Berlin",
    default_locale: "de-DE",
    redemption_rate_points: null,
    redemption_rate_amount: null,
    enrollment_mode: "auto" as const,
    default_country: null,
    customer_token_secret: null,
    allow_negative_balance: 0,
    redeemed_points_on_refund: "keep" as const,
    created_at: timestamp,
    updated_at: timestamp,
  };
}

function apiKeyRow(shopId: string, id: string, tokenHash: string) {
  return {
    shop_id: shopId,
    id,
    kind: "secret" as const,
    name: "Default secret key",
    display_prefix: "sk_abcdefgh",
    token_hash: tokenHash,
    created_at: timestamp,
    last_used_at: null,
    revoked_at: null,
  };
}

/** The primary key's columns of `table`, in key order, as the database itself reports them. */
async function primaryKeyColumns(database: DatabaseHandle, table: string): Promise<string[]> {
  if (database.dialect === "postgres") {
    const { rows } = await sql<{ column_name: string }>`
      select kcu.column_name
      from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu
        on kcu.constraint_schema = tc.constraint_schema and kcu.constraint_name = tc.constraint_name
      where tc.table_schema = current_schema() and tc.table_name = ${table} and tc.constraint_type = 'PRIMARY KEY'
      order by kcu.ordinal_position`.execute(database.db);
    return rows.map((row) => row.column_name);
  }
  // table_info's pk is the column's 1-based position in the primary key, 0 when not part of it.
  const { rows } = await sql<{ name: string; pk: number }>`select name, pk from pragma_table_info(${table})`.execute(
    database.db,
  );
  return rows
    .filter((row) => row.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((row) => row.name);
}

describeEachDialect("database migrations", (dialect: Dialect) => {
  let target: TestDatabaseUrl;
  let database: DatabaseHandle;

  beforeEach(async () => {
    target = await createTestDatabaseUrl(dialect);
    database = openDatabase(target.url, { poolSize: 2 });
  });

  afterEach(async () => {
    await database.close();
    await target.drop();
  });

  it("lists every migration as pending on an empty database", async () => {
    expect(await migrationStatus(database.db)).toEqual(allMigrations.map((name) => ({ name, appliedAt: null })));
  });

  it("applies every migration to an empty database, in order, and reports when each ran", async () => {
    const before = Date.now();
    expect(await migrateToLatest(database.db)).toEqual(allMigrations);
    const after = Date.now();

    const states = await migrationStatus(database.db);
    expect(states.map((state) => state.name)).toEqual(allMigrations);
    for (const state of states) {
      expect(state.appliedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      const appliedAt = new Date(state.appliedAt ?? "").getTime();
      expect(appliedAt).toBeGreaterThanOrEqual(before);
      expect(appliedAt).toBeLessThanOrEqual(after);
    }
  });

  it("applies nothing the second time and keeps the first run's time", async () => {
    await migrateToLatest(database.db);
    const first = await migrationStatus(database.db);
    expect(await migrateToLatest(database.db)).toEqual([]);
    expect(await migrationStatus(database.db)).toEqual(first);
  });

  it("creates shops, api_keys and idempotency_keys that store and return rows", async () => {
    await migrateToLatest(database.db);
    const { db } = database;
    await db.insertInto("shops").values(shopRow("shop_a")).execute();
    await db
      .insertInto("api_keys")
      .values(apiKeyRow("shop_a", "key_a", "hash_a"))
      .execute();
    await db
      .insertInto("idempotency_keys")
      .values({
        shop_id: "shop_a",
        idempotency_key: "order-1001",
        request_hash: "request_hash",
        state: "completed",
        response_status: 201,
        response_content_type: "application/json",
        response_body: '{"ok":true}',
        locked_until: timestamp,
        created_at: timestamp,
        completed_at: timestamp,
      })
      .execute();

    expect(await db.selectFrom("shops").selectAll().execute()).toEqual([shopRow("shop_a")]);
    expect(await db.selectFrom("api_keys").selectAll().execute()).toEqual([apiKeyRow("shop_a", "key_a", "hash_a")]);
    expect(await db.selectFrom("idempotency_keys").selectAll().executeTakeFirstOrThrow()).toMatchObject({
      shop_id: "shop_a",
      idempotency_key: "order-1001",
      state: "completed",
      response_status: 201,
      response_body: '{"ok":true}',
      completed_at: timestamp,
    });
  });

  it("keys api_keys and idempotency_keys by shop first", async () => {
    await migrateToLatest(database.db);
    expect(await primaryKeyColumns(database, "api_keys")).toEqual(["shop_id", "id"]);
    expect(await primaryKeyColumns(database, "idempotency_keys")).toEqual(["shop_id", "idempotency_key"]);
    expect(await primaryKeyColumns(database, "shops")).toEqual(["id"]);
  });

  it("keys every ledger table by shop first, so the schema can be distributed by shop", async () => {
    await migrateToLatest(database.db);
    expect(await primaryKeyColumns(database, "members")).toEqual(["shop_id", "id"]);
    expect(await primaryKeyColumns(database, "point_accounts")).toEqual(["shop_id", "member_id"]);
    expect(await primaryKeyColumns(database, "ledger_transactions")).toEqual(["shop_id", "id"]);
    expect(await primaryKeyColumns(database, "ledger_entries")).toEqual(["shop_id", "transaction_id", "line"]);
    expect(await primaryKeyColumns(database, "ledger_lots")).toEqual(["shop_id", "id"]);
    expect(await primaryKeyColumns(database, "ledger_lot_movements")).toEqual(["shop_id", "transaction_id", "seq"]);
    expect(await primaryKeyColumns(database, "point_reservations")).toEqual(["shop_id", "id"]);
    expect(await primaryKeyColumns(database, "outbox")).toEqual(["shop_id", "id"]);
  });

  it("lets two shops use the same key id but never the same token hash", async () => {
    await migrateToLatest(database.db);
    const { db } = database;
    await db
      .insertInto("shops")
      .values([shopRow("shop_a"), shopRow("shop_b")])
      .execute();
    await db
      .insertInto("api_keys")
      .values(apiKeyRow("shop_a", "key_1", "hash_a"))
      .execute();
    await db
      .insertInto("api_keys")
      .values(apiKeyRow("shop_b", "key_1", "hash_b"))
      .execute();

    const duplicateHash = await db
      .insertInto("api_keys")
      .values(apiKeyRow("shop_b", "key_2", "hash_a"))
      .execute()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isUniqueViolation(duplicateHash)).toBe(true);
    expect(await db.selectFrom("api_keys").select(["shop_id", "id"]).orderBy("shop_id").execute()).toEqual([
      { shop_id: "shop_a", id: "key_1" },
      { shop_id: "shop_b", id: "key_1" },
    ]);
  });

  // Kysely's Migrator, left to itself, looks for its bookkeeping tables in every schema of a
  // PostgreSQL database; migrate.ts pins them to the connection's current schema.
  it("migrates a database while another one on the same server already holds Laurel's tables", async () => {
    const neighbour = await createTestDatabaseUrl(dialect);
    const neighbourDatabase = openDatabase(neighbour.url, { poolSize: 1 });
    try {
      expect(await migrateToLatest(neighbourDatabase.db)).toEqual(allMigrations);
      expect(await migrateToLatest(database.db)).toEqual(allMigrations);
      expect(await database.db.selectFrom("shops").selectAll().execute()).toEqual([]);
    } finally {
      await neighbourDatabase.close();
      await neighbour.drop();
    }
  });

  it("refuses an api key for a shop that does not exist", async () => {
    await migrateToLatest(database.db);
    await expect(
      database.db
        .insertInto("api_keys")
        .values(apiKeyRow("shop_missing", "key_1", "hash_a"))
        .execute(),
    ).rejects.toThrow();
    expect(await database.db.selectFrom("api_keys").selectAll().execute()).toEqual([]);
  });
});
