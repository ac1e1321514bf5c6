import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // Whether a refund that takes back points already spent may show the member a balance below
  // zero; either way the shortfall is owed (point_accounts.debt) and later earnings repay it.
  await db.schema
    .alterTable("shops")
    .addColumn("allow_negative_balance", "integer", (column) => column.notNull().defaultTo(0))
    .execute();
  // Points a member owes: clawed back after they were spent. Repaid first from later earnings.
  await db.schema
    .alterTable("point_accounts")
    .addColumn("debt", "bigint", (column) => column.notNull().defaultTo(0))
    .execute();
  // JSON array of the member's tags (from the store platform or the API), for rule conditions.
  await db.schema
    .alterTable("members")
    .addColumn("tags", "text", (column) => column.notNull().defaultTo("[]"))
    .execute();

  // Event types a shop defines for itself, besides the built-in ones.
  await db.schema
    .createTable("custom_event_types")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("description", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("custom_event_types_pkey", ["shop_id", "type"])
    .execute();

  // The current version of each rule; every version ever saved is kept in earning_rule_versions,
  // so an explanation always names the version that decided it.
  await db.schema
    .createTable("earning_rules")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("version", "integer", (column) => column.notNull())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("event_type", "text", (column) => column.notNull())
    .addColumn("definition", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("earning_rules_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("earning_rules_trigger")
    .on("earning_rules")
    .columns(["shop_id", "event_type", "status"])
    .execute();
  await db.schema
    .createTable("earning_rule_versions")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("rule_id", "text", (column) => column.notNull())
    .addColumn("version", "integer", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("event_type", "text", (column) => column.notNull())
    .addColumn("definition", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("earning_rule_versions_pkey", ["shop_id", "rule_id", "version"])
    .addForeignKeyConstraint("earning_rule_versions_rule_fkey", ["shop_id", "rule_id"], "earning_rules", [
      "shop_id",
      "id",
    ])
    .execute();

  // Manual exchange rates: one unit of `currency` is worth `rate` units of the shop currency.
  // The rate is a decimal string, so conversion stays exact integer arithmetic.
  await db.schema
    .createTable("exchange_rates")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("rate", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("exchange_rates_pkey", ["shop_id", "currency"])
    .execute();

  // Every event received, once: (shop, source, external_id) is unique, so a replay finds the first.
  await db.schema
    .createTable("events")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("source", "text", (column) => column.notNull())
    .addColumn("external_id", "text")
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("member_id", "text")
    .addColumn("order_id", "text")
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("reason", "text")
    .addColumn("points", "bigint", (column) => column.notNull())
    .addColumn("occurred_at", "text", (column) => column.notNull())
    .addColumn("received_at", "text", (column) => column.notNull())
    .addColumn("payload", "text", (column) => column.notNull())
    .addColumn("explanation", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("events_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("events_external_id")
    .on("events")
    .columns(["shop_id", "source", "external_id"])
    .unique()
    .execute();
  await db.schema.createIndex("events_member").on("events").columns(["shop_id", "member_id", "id"]).execute();

  // One row per order Laurel has seen paid: what it earned and how much of it was refunded, so
  // refunds claw back in proportion and "first order" conditions (and tiers) can count orders.
  await db.schema
    .createTable("orders")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("source", "text", (column) => column.notNull())
    .addColumn("external_id", "text", (column) => column.notNull())
    .addColumn("member_id", "text")
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("total", "bigint", (column) => column.notNull())
    .addColumn("subtotal", "bigint", (column) => column.notNull())
    .addColumn("shop_total", "bigint")
    .addColumn("refunded", "bigint", (column) => column.notNull())
    .addColumn("points_earned", "bigint", (column) => column.notNull())
    .addColumn("points_reversed", "bigint", (column) => column.notNull())
    .addColumn("paid_event_id", "text", (column) => column.notNull())
    .addColumn("paid_at", "text", (column) => column.notNull())
    .addColumn("cancelled_at", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("orders_pkey", ["shop_id", "source", "external_id"])
    .execute();
  await db.schema.createIndex("orders_member").on("orders").columns(["shop_id", "member_id", "paid_at"]).execute();

  // What each rule gave each event: the ledger transaction it went into, and the history the
  // rule's limits count (per member, rule and period).
  await db.schema
    .createTable("event_awards")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("event_id", "text", (column) => column.notNull())
    .addColumn("rule_id", "text", (column) => column.notNull())
    .addColumn("rule_version", "integer", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("points", "bigint", (column) => column.notNull())
    .addColumn("transaction_id", "text")
    .addColumn("occurred_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("event_awards_pkey", ["shop_id", "event_id", "rule_id"])
    .execute();
  await db.schema
    .createIndex("event_awards_usage")
    .on("event_awards")
    .columns(["shop_id", "member_id", "rule_id", "occurred_at"])
    .execute();

  // Store platforms connected to a shop: the account (Shopify shop domain, WooCommerce site URL)
  // names the shop on incoming webhooks, the secret verifies them.
  await db.schema
    .createTable("shop_integrations")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("platform", "text", (column) => column.notNull())
    .addColumn("account", "text", (column) => column.notNull())
    .addColumn("webhook_secret", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("shop_integrations_pkey", ["shop_id", "platform"])
    .execute();
  await db.schema
    .createIndex("shop_integrations_account")
    .on("shop_integrations")
    .columns(["platform", "account"])
    .unique()
    .execute();

  // Every webhook delivery accepted, once per platform delivery id; a redelivery gets the first result.
  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("platform", "text", (column) => column.notNull())
    .addColumn("delivery_id", "text", (column) => column.notNull())
    .addColumn("topic", "text", (column) => column.notNull())
    .addColumn("result", "text", (column) => column.notNull())
    .addColumn("payload", "text")
    .addColumn("received_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("webhook_deliveries_pkey", ["shop_id", "platform", "delivery_id"])
    .execute();
  // Retention sweeps drop old payloads by age.
  await db.schema
    .createIndex("webhook_deliveries_received")
    .on("webhook_deliveries")
    .columns(["shop_id", "received_at"])
    .execute();

  // Backfill imports: how far each file got, so a rerun resumes where it stopped.
  await db.schema
    .createTable("import_runs")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("kind", "text", (column) => column.notNull())
    .addColumn("file_name", "text", (column) => column.notNull())
    .addColumn("file_sha256", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("records_done", "integer", (column) => column.notNull())
    .addColumn("events_created", "integer", (column) => column.notNull())
    .addColumn("duplicates", "integer", (column) => column.notNull())
    .addColumn("failed", "integer", (column) => column.notNull())
    .addColumn("errors", "text", (column) => column.notNull())
    .addColumn("started_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addColumn("finished_at", "text")
    .addPrimaryKeyConstraint("import_runs_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("import_runs_file")
    .on("import_runs")
    .columns(["shop_id", "kind", "file_sha256"])
    .unique()
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("import_runs").execute();
  await db.schema.dropTable("webhook_deliveries").execute();
  await db.schema.dropTable("shop_integrations").execute();
  await db.schema.dropTable("event_awards").execute();
  await db.schema.dropTable("orders").execute();
  await db.schema.dropTable("events").execute();
  await db.schema.dropTable("exchange_rates").execute();
  await db.schema.dropTable("earning_rule_versions").execute();
  await db.schema.dropTable("earning_rules").execute();
  await db.schema.dropTable("custom_event_types").execute();
  await db.schema.alterTable("members").dropColumn("tags").execute();
  await db.schema.alterTable("point_accounts").dropColumn("debt").execute();
  await db.schema.alterTable("shops").dropColumn("allow_negative_balance").execute();
}
