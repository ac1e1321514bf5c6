import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // How people join (auto: every customer is a member; opt_in: guests until they join), the
  // region local phone numbers are read in, and the key that signs storefront customer tokens.
  await db.schema
    .alterTable("shops")
    .addColumn("enrollment_mode", "text", (column) => column.notNull().defaultTo("auto"))
    .execute();
  await db.schema.alterTable("shops").addColumn("default_country", "text").execute();
  await db.schema.alterTable("shops").addColumn("customer_token_secret", "text").execute();

  for (const [name, type] of [
    ["given_name", "text"],
    ["family_name", "text"],
    ["name_order", "text"],
    ["birthday_month", "integer"],
    ["birthday_day", "integer"],
    ["birthday_year", "integer"],
    ["locale", "text"],
    ["country", "text"],
    ["profile_completed_at", "text"],
    ["joined_at", "text"],
    ["merged_into_member_id", "text"],
  ] as const) {
    await db.schema.alterTable("members").addColumn(name, type).execute();
  }
  await db.schema
    .alterTable("members")
    .addColumn("marketing_preferences", "text", (column) => column.notNull().defaultTo("{}"))
    .execute();
  await db.schema
    .alterTable("members")
    .addColumn("attributes", "text", (column) => column.notNull().defaultTo("{}"))
    .execute();
  await db.schema.createIndex("members_created_at").on("members").columns(["shop_id", "created_at"]).execute();
  // The survivor's timeline reads the history of the members merged into it.
  await db.schema
    .createIndex("members_merged_into")
    .on("members")
    .columns(["shop_id", "merged_into_member_id"])
    .execute();

  // One row per identifier; the primary key makes each identifier belong to one member per shop.
  await db.schema
    .createTable("member_identifiers")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("kind", "text", (column) => column.notNull())
    .addColumn("value", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("verified_at", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("member_identifiers_pkey", ["shop_id", "kind", "value"])
    .addForeignKeyConstraint("member_identifiers_member_fkey", ["shop_id", "member_id"], "members", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("member_identifiers_member")
    .on("member_identifiers")
    .columns(["shop_id", "member_id"])
    .execute();

  // Append-only consent history; the current state of a purpose and channel is its latest row.
  await db.schema
    .createTable("member_consents")
    .addColumn("shop_id", "text", (column) => column.notNull())
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("purpose", "text", (column) => column.notNull())
    .addColumn("channel", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("source", "text", (column) => column.notNull())
    .addColumn("wording_version", "text")
    .addColumn("ip_address", "text")
    .addColumn("user_agent", "text")
    .addColumn("recorded_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("member_consents_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("member_consents_member")
    .on("member_consents")
    .columns(["shop_id", "member_id", "purpose", "channel", "id"])
    .execute();

  // The shop's own profile fields: typed, optionally required for a complete profile.
  await db.schema
    .createTable("member_attribute_definitions")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("key", "text", (column) => column.notNull())
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("label", "text", (column) => column.notNull())
    .addColumn("required", "integer", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("member_attribute_definitions_pkey", ["shop_id", "key"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("member_attribute_definitions").execute();
  await db.schema.dropTable("member_consents").execute();
  await db.schema.dropTable("member_identifiers").execute();
  await db.schema.dropIndex("members_merged_into").execute();
  await db.schema.dropIndex("members_created_at").execute();
  for (const name of [
    "attributes",
    "marketing_preferences",
    "merged_into_member_id",
    "joined_at",
    "profile_completed_at",
    "country",
    "locale",
    "birthday_year",
    "birthday_day",
    "birthday_month",
    "name_order",
    "family_name",
    "given_name",
  ]) {
    await db.schema.alterTable("members").dropColumn(name).execute();
  }
  for (const name of ["customer_token_secret", "default_country", "enrollment_mode"]) {
    await db.schema.alterTable("shops").dropColumn(name).execute();
  }
}
