import type { Kysely } from "kysely";
import { insertOrBuffer } from "../../platform/db/insert-buffer.js";
import { columnsOf, rawInsert } from "../../platform/db/raw-statement.js";
import type { Database } from "../../platform/db/schema.js";
import type { MemberTiersTable, TierChangesTable, TierProgramsTable, TierSweepsTable } from "./tables.js";

type Db = Kysely<Database>;

export async function findProgram(db: Db, shopId: string): Promise<TierProgramsTable | undefined> {
  return db.selectFrom("tier_programs").selectAll().where("shop_id", "=", shopId).executeTakeFirst();
}

export async function findMemberTier(db: Db, shopId: string, memberId: string): Promise<MemberTiersTable | undefined> {
  return db
    .selectFrom("member_tiers")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .executeTakeFirst();
}

export async function findMemberTiers(
  db: Db,
  shopId: string,
  memberIds: readonly string[],
): Promise<Map<string, MemberTiersTable>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("member_tiers")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "in", memberIds)
    .execute();
  return new Map(rows.map((row) => [row.member_id, row]));
}

export async function saveMemberTier(db: Db, row: MemberTiersTable): Promise<void> {
  const { shop_id, member_id, ...changes } = row;
  await db
    .insertInto("member_tiers")
    .values(row)
    .onConflict((conflict) => conflict.columns(["shop_id", "member_id"]).doUpdateSet(changes))
    .execute();
}

const changeColumns = columnsOf<TierChangesTable>()([
  "shop_id",
  "id",
  "member_id",
  "kind",
  "from_tier",
  "to_tier",
  "reason",
  "program_version",
  "metrics",
  "event_id",
  "actor_type",
  "actor_id",
  "created_at",
]);
const insertChangeRows = rawInsert("tier_changes", changeColumns.columns);

/** Buffered when the transaction has an insert buffer (a sweep's chunk): nothing reads history there. */
export async function insertTierChange(db: Db, row: TierChangesTable): Promise<void> {
  await insertOrBuffer(db, insertChangeRows, [changeColumns.values(row)]);
}

/** Whether the member got the tier's entry reward before; records it now if not. */
export async function claimEntryReward(
  db: Db,
  row: { shop_id: string; member_id: string; tier: string; created_at: string },
): Promise<boolean> {
  const inserted = await db
    .insertInto("tier_entry_rewards")
    .values({ ...row, transaction_id: null })
    .onConflict((conflict) => conflict.columns(["shop_id", "member_id", "tier"]).doNothing())
    .returning("tier")
    .execute();
  return inserted.length > 0;
}

export async function setEntryRewardTransaction(
  db: Db,
  key: { shop_id: string; member_id: string; tier: string },
  transactionId: string,
): Promise<void> {
  await db
    .updateTable("tier_entry_rewards")
    .set({ transaction_id: transactionId })
    .where("shop_id", "=", key.shop_id)
    .where("member_id", "=", key.member_id)
    .where("tier", "=", key.tier)
    .execute();
}

/** Members whose tier falls due at `now`, soonest first. */
export async function listDueMemberTiers(db: Db, shopId: string, now: string, limit: number) {
  return db
    .selectFrom("member_tiers")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("due_at", "<=", now)
    .orderBy("due_at")
    .orderBy("member_id")
    .limit(limit)
    .execute();
}

export async function countMembersInTiers(db: Db, shopId: string, tiers: string[]): Promise<number> {
  if (tiers.length === 0) return 0;
  const row = await db
    .selectFrom("member_tiers")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("shop_id", "=", shopId)
    .where("tier", "in", tiers)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function findUnfinishedSweep(db: Db, shopId: string): Promise<TierSweepsTable | undefined> {
  return db
    .selectFrom("tier_sweeps")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("finished_at", "is", null)
    .orderBy("id", "desc")
    .executeTakeFirst();
}
