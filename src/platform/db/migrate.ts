import { type Kysely, type Migration, type MigrationResult, Migrator, PostgresAdapter, sql } from "kysely";
import * as foundation from "./migrations/0001_foundation.js";
import * as ledger from "./migrations/0002_ledger.js";
import * as members from "./migrations/0003_members.js";
import * as events from "./migrations/0004_events.js";
import * as tiers from "./migrations/0005_tiers.js";
import * as rewards from "./migrations/0006_rewards.js";
import type { Database } from "./schema.js";

/** Every migration, in order. Listed explicitly so the set is the same under tsx, a build and tests. */
const migrations: Record<string, Migration> = {
  "0001_foundation": foundation,
  "0002_ledger": ledger,
  "0003_members": members,
  "0004_events": events,
  "0005_tiers": tiers,
  "0006_rewards": rewards,
};

async function migrator(db: Kysely<Database>): Promise<Migrator> {
  const provider = { getMigrations: async () => migrations };
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // Without a schema, Kysely looks for its bookkeeping tables in every schema of the database;
    // a neighbour's kysely_migration_lock would then stop this schema from ever migrating.
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema;
    if (schema) return new Migrator({ db, provider, migrationTableSchema: schema });
  }
  return new Migrator({ db, provider });
}

export class MigrationError extends Error {
  constructor(
    readonly failed: string | undefined,
    cause: unknown,
  ) {
    super(`migration ${failed ?? "(unknown)"} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "MigrationError";
  }
}

/** Applies every pending migration; returns the names applied now (empty when up to date). */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const { error, results } = await (await migrator(db)).migrateToLatest();
  if (error) {
    const failed = results?.find((result: MigrationResult) => result.status === "Error");
    throw new MigrationError(failed?.migrationName, error);
  }
  return (results ?? []).filter((result) => result.status === "Success").map((result) => result.migrationName);
}

export interface MigrationState {
  name: string;
  appliedAt: string | null;
}

export async function migrationStatus(db: Kysely<Database>): Promise<MigrationState[]> {
  const known = await (await migrator(db)).getMigrations();
  return known.map((migration) => ({
    name: migration.name,
    appliedAt: migration.executedAt ? migration.executedAt.toISOString() : null,
  }));
}
