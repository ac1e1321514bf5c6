import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // A shop's tier program (at most one): the current definition, and every version ever saved,
  // so a member's tier always names the version that qualified them.
  await db.schema
    .createTable("tier_programs")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("version", "integer", (column) => column.notNull())
    .addColumn("definition", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("tier_programs_pkey", ["shop_id"])
    .execute();
  await db.schema
    .createTable("tier_program_versions")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("version", "integer", (column) => column.notNull())
    .addColumn("definition", "text", (column) => column.notNull())
    .addColumn("actor_type", "text", (column) => column.notNull())
    .addColumn("actor_id", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("tier_program_versions_pkey", ["shop_id", "version"])
    .execute();

  // Each member's tier, once they have one other than the base tier (or were assigned one).
  // due_at is the next moment the sweep must look at the member: the end of the qualification
  // period, or of a grace period before a downgrade, or of a manual lock.
  await db.schema
    .createTable("member_tiers")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("tier", "text", (column) => column.notNull())
    .addColumn("since", "text", (column) => column.notNull())
    .addColumn("program_version", "integer", (column) => column.notNull())
    .addColumn("period_ends_at", "text")
    .addColumn("grace_until", "text")
    .addColumn("locked_until", "text")
    .addColumn("due_at", "text")
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("member_tiers_pkey", ["shop_id", "member_id"])
    .addForeignKeyConstraint("member_tiers_member_fkey", ["shop_id", "member_id"], "members", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("member_tiers_due").on("member_tiers").columns(["shop_id", "due_at"]).execute();

  // Every tier change, and every grace period started: the member's tier history.
  await db.schema
    .createTable("tier_changes")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("kind", "text", (column) => column.notNull())
    .addColumn("from_tier", "text")
    .addColumn("to_tier", "text", (column) => column.notNull())
    .addColumn("reason", "text", (column) => column.notNull())
    .addColumn("program_version", "integer", (column) => column.notNull())
    .addColumn("metrics", "text")
    .addColumn("event_id", "text")
    .addColumn("actor_type", "text", (column) => column.notNull())
    .addColumn("actor_id", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("tier_changes_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("tier_changes_member")
    .on("tier_changes")
    .columns(["shop_id", "member_id", "id"])
    .execute();

  // Entry rewards given: once per member and tier, however often the member re-qualifies.
  await db.schema
    .createTable("tier_entry_rewards")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("tier", "text", (column) => column.notNull())
    .addColumn("transaction_id", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("tier_entry_rewards_pkey", ["shop_id", "member_id", "tier"])
    .execute();

  // Runs of `laurel tiers reevaluate --all`: where a run stopped, so the next one resumes there.
  await db.schema
    .createTable("tier_sweeps")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("cursor", "text")
    .addColumn("evaluated", "integer", (column) => column.notNull())
    .addColumn("changed", "integer", (column) => column.notNull())
    .addColumn("started_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addColumn("finished_at", "text")
    .addPrimaryKeyConstraint("tier_sweeps_pkey", ["shop_id", "id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("tier_sweeps").execute();
  await db.schema.dropTable("tier_entry_rewards").execute();
  await db.schema.dropTable("tier_changes").execute();
  await db.schema.dropTable("member_tiers").execute();
  await db.schema.dropTable("tier_program_versions").execute();
  await db.schema.dropTable("tier_programs").execute();
}
