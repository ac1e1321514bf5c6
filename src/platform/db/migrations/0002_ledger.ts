import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // The shop's redemption rate: `redemption_rate_points` points are worth `redemption_rate_amount`
  // minor units of the base currency. Null means the default for the currency (see shops service).
  await db.schema.alterTable("shops").addColumn("redemption_rate_points", "bigint").execute();
  await db.schema.alterTable("shops").addColumn("redemption_rate_amount", "bigint").execute();

  // The minimal member the ledger attaches to; the members module grows it.
  await db.schema
    .createTable("members")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("members_pkey", ["shop_id", "id"])
    .execute();

  // A member's points account: the cached balances, kept equal to the entries and lots in the
  // same transaction as every change. The row is also the member's ledger lock.
  await db.schema
    .createTable("point_accounts")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("available", "bigint", (column) => column.notNull())
    .addColumn("pending", "bigint", (column) => column.notNull())
    .addColumn("reserved", "bigint", (column) => column.notNull())
    .addColumn("lifetime_earned", "bigint", (column) => column.notNull())
    .addColumn("lifetime_spent", "bigint", (column) => column.notNull())
    .addColumn("lifetime_expired", "bigint", (column) => column.notNull())
    // Earliest moment something may fall due (a lot expiry, a pending confirmation, a reservation
    // expiry). May be early, never late: reaching it only means "settle this account now".
    .addColumn("next_due_at", "text")
    .addColumn("version", "bigint", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("point_accounts_pkey", ["shop_id", "member_id"])
    .addForeignKeyConstraint("point_accounts_member_fkey", ["shop_id", "member_id"], "members", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("point_accounts_next_due_at")
    .on("point_accounts")
    .columns(["shop_id", "next_due_at"])
    .execute();

  await db.schema
    .createTable("ledger_transactions")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addColumn("reason", "text")
    .addColumn("reference", "text")
    .addColumn("actor_type", "text", (column) => column.notNull())
    .addColumn("actor_id", "text")
    .addColumn("metadata", "text", (column) => column.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("reverses_transaction_id", "text")
    .addColumn("confirms_transaction_id", "text")
    .addColumn("reversed_amount", "bigint", (column) => column.notNull())
    .addColumn("reservation_id", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("ledger_transactions_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("ledger_transactions_idempotency_key")
    .unique()
    .on("ledger_transactions")
    .columns(["shop_id", "idempotency_key"])
    .execute();
  await db.schema
    .createIndex("ledger_transactions_member")
    .on("ledger_transactions")
    .columns(["shop_id", "member_id", "id"])
    .execute();

  // Append-only. `member_id` is null for the shop's system accounts.
  await db.schema
    .createTable("ledger_entries")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("transaction_id", "text", (column) => column.notNull())
    .addColumn("line", "integer", (column) => column.notNull())
    .addColumn("account", "text", (column) => column.notNull())
    .addColumn("member_id", "text")
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addPrimaryKeyConstraint("ledger_entries_pkey", ["shop_id", "transaction_id", "line"])
    .addForeignKeyConstraint("ledger_entries_transaction_fkey", ["shop_id", "transaction_id"], "ledger_transactions", [
      "shop_id",
      "id",
    ])
    .execute();
  await db.schema
    .createIndex("ledger_entries_member")
    .on("ledger_entries")
    .columns(["shop_id", "member_id", "transaction_id"])
    .execute();

  await db.schema
    .createTable("ledger_lots")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("transaction_id", "text", (column) => column.notNull())
    .addColumn("state", "text", (column) => column.notNull())
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addColumn("remaining", "bigint", (column) => column.notNull())
    .addColumn("pending_until", "text")
    .addColumn("expires_at", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("ledger_lots_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("ledger_lots_member")
    .on("ledger_lots")
    .columns(["shop_id", "member_id", "state", "expires_at"])
    .execute();
  await db.schema
    .createIndex("ledger_lots_transaction")
    .on("ledger_lots")
    .columns(["shop_id", "transaction_id"])
    .execute();

  // Every change to a lot's remaining amount, by the transaction that made it: a lot's remaining
  // equals the sum of its movements, and releasing or reversing a debit restores exactly the lots
  // it drew from.
  await db.schema
    .createTable("ledger_lot_movements")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("transaction_id", "text", (column) => column.notNull())
    .addColumn("lot_id", "text", (column) => column.notNull())
    .addColumn("seq", "integer", (column) => column.notNull())
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addPrimaryKeyConstraint("ledger_lot_movements_pkey", ["shop_id", "transaction_id", "seq"])
    .execute();
  await db.schema
    .createIndex("ledger_lot_movements_lot")
    .on("ledger_lot_movements")
    .columns(["shop_id", "lot_id"])
    .execute();

  await db.schema
    .createTable("point_reservations")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("reference", "text")
    .addColumn("expires_at", "text", (column) => column.notNull())
    .addColumn("reserve_transaction_id", "text", (column) => column.notNull())
    .addColumn("commit_transaction_id", "text")
    .addColumn("release_transaction_id", "text")
    .addColumn("committed_amount", "bigint", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("point_reservations_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("point_reservations_member")
    .on("point_reservations")
    .columns(["shop_id", "member_id", "status", "expires_at"])
    .execute();

  // Domain events written in the same transaction as the change they describe; delivery
  // (webhooks, email) reads them later and marks them dispatched.
  await db.schema
    .createTable("outbox")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("subject_type", "text", (column) => column.notNull())
    .addColumn("subject_id", "text", (column) => column.notNull())
    .addColumn("payload", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("dispatched_at", "text")
    .addPrimaryKeyConstraint("outbox_pkey", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("outbox_subject").on("outbox").columns(["shop_id", "subject_id", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    "outbox",
    "point_reservations",
    "ledger_lot_movements",
    "ledger_lots",
    "ledger_entries",
    "ledger_transactions",
    "point_accounts",
    "members",
  ]) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable("shops").dropColumn("redemption_rate_amount").execute();
  await db.schema.alterTable("shops").dropColumn("redemption_rate_points").execute();
}
