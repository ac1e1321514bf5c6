import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // The shop's reward catalog. What a reward gives and costs is JSON (`settings`); what must be
  // queried or changed under a lock (status, window, stock) is in columns.
  await db.schema
    .createTable("rewards")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("description", "text", (column) => column.notNull())
    .addColumn("image_url", "text")
    .addColumn("settings", "text", (column) => column.notNull())
    .addColumn("stock_total", "bigint")
    .addColumn("stock_remaining", "bigint")
    .addColumn("starts_at", "text")
    .addColumn("ends_at", "text")
    .addColumn("version", "integer", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("rewards_pkey", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("rewards_status").on("rewards").columns(["shop_id", "status", "id"]).execute();

  // One row per redemption: the points spent (a ledger transaction), what was issued (a code, or
  // store credit) and what became of it.
  await db.schema
    .createTable("redemptions")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("reward_id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("points", "bigint", (column) => column.notNull())
    .addColumn("transaction_id", "text", (column) => column.notNull())
    .addColumn("refund_transaction_id", "text")
    .addColumn("reward", "text", (column) => column.notNull())
    .addColumn("code", "text")
    .addColumn("code_expires_at", "text")
    .addColumn("order_id", "text")
    .addColumn("used_at", "text")
    .addColumn("cancelled_at", "text")
    .addColumn("cancel_reason", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("redemptions_pkey", ["shop_id", "id"])
    .addForeignKeyConstraint("redemptions_reward_fkey", ["shop_id", "reward_id"], "rewards", ["shop_id", "id"])
    .addForeignKeyConstraint("redemptions_member_fkey", ["shop_id", "member_id"], "members", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("redemptions_code").on("redemptions").columns(["shop_id", "code"]).unique().execute();
  // How many times a reward was redeemed is counted, not kept on the reward's row: a counter there
  // would make every redemption of a popular reward wait for the previous one's commit.
  await db.schema
    .createIndex("redemptions_reward")
    .on("redemptions")
    .columns(["shop_id", "reward_id", "status"])
    .execute();
  await db.schema
    .createIndex("redemptions_member")
    .on("redemptions")
    .columns(["shop_id", "member_id", "reward_id", "status"])
    .execute();

  // Store credit a member holds, per currency, and every change to it.
  await db.schema
    .createTable("store_credit_balances")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("balance", "bigint", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("store_credit_balances_pkey", ["shop_id", "member_id", "currency"])
    .execute();
  await db.schema
    .createTable("store_credit_entries")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addColumn("redemption_id", "text")
    .addColumn("order_id", "text")
    .addColumn("reason", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("store_credit_entries_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("store_credit_entries_member")
    .on("store_credit_entries")
    .columns(["shop_id", "member_id", "id"])
    .execute();
  // Points spent at checkout: a ledger reservation held for a cart, committed when its order is
  // paid, released when the shopper takes them off or the hold runs out. One row per cart.
  await db.schema
    .createTable("checkout_points")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("cart_id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("reservation_id", "text", (column) => column.notNull())
    .addColumn("points", "bigint", (column) => column.notNull())
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("discount", "bigint", (column) => column.notNull())
    .addColumn("order_id", "text")
    .addColumn("spend_transaction_id", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("checkout_points_pkey", ["shop_id", "cart_id"])
    .addForeignKeyConstraint("checkout_points_member_fkey", ["shop_id", "member_id"], "members", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("checkout_points_order").on("checkout_points").columns(["shop_id", "order_id"]).execute();
  await db.schema.createIndex("redemptions_order").on("redemptions").columns(["shop_id", "order_id"]).execute();

  // What the shop's refund policy did with points spent on an order (a code or points at checkout)
  // when the order was cancelled or wholly refunded: returned or kept, and by which transaction.
  await db.schema
    .createTable("order_reward_outcomes")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("order_id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("subject_type", "text", (column) => column.notNull())
    .addColumn("subject_id", "text", (column) => column.notNull())
    .addColumn("policy", "text", (column) => column.notNull())
    .addColumn("points", "bigint", (column) => column.notNull())
    .addColumn("transaction_id", "text")
    .addColumn("event_id", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("order_reward_outcomes_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("order_reward_outcomes_subject")
    .on("order_reward_outcomes")
    .columns(["shop_id", "subject_type", "subject_id"])
    .unique()
    .execute();

  // keep: points spent on an order stay spent when it is refunded; return: they come back.
  await db.schema
    .alterTable("shops")
    .addColumn("redeemed_points_on_refund", "text", (column) => column.notNull().defaultTo("keep"))
    .execute();

  // Shopify discount codes: the Admin API token that creates them (null: not set up) and whether
  // redemptions become discounts; one row per redemption sent, with its state and retries.
  await db.schema.alterTable("shop_integrations").addColumn("admin_access_token", "text").execute();
  await db.schema
    .alterTable("shop_integrations")
    .addColumn("sync_discount_codes", "integer", (column) => column.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("platform_discounts")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("redemption_id", "text", (column) => column.notNull())
    .addColumn("platform", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("price_rule_id", "text")
    .addColumn("discount_code_id", "text")
    .addColumn("attempts", "integer", (column) => column.notNull())
    .addColumn("last_error", "text")
    .addColumn("next_attempt_at", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("platform_discounts_pkey", ["shop_id", "redemption_id", "platform"])
    .execute();
  await db.schema
    .createIndex("platform_discounts_due")
    .on("platform_discounts")
    .columns(["status", "next_attempt_at"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("platform_discounts").execute();
  await db.schema.alterTable("shop_integrations").dropColumn("sync_discount_codes").execute();
  await db.schema.alterTable("shop_integrations").dropColumn("admin_access_token").execute();
  await db.schema.alterTable("shops").dropColumn("redeemed_points_on_refund").execute();
  await db.schema.dropTable("order_reward_outcomes").execute();
  await db.schema.dropTable("checkout_points").execute();
  await db.schema.dropTable("store_credit_entries").execute();
  await db.schema.dropTable("store_credit_balances").execute();
  await db.schema.dropTable("redemptions").execute();
  await db.schema.dropTable("rewards").execute();
}
