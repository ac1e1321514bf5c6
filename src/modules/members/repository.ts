import { type Kysely, PostgresAdapter, sql } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type {
  IdentifierKind,
  MemberAttributeDefinitionsTable,
  MemberConsentsTable,
  MemberIdentifiersTable,
  MemberStatus,
  MembersTable,
} from "./tables.js";

type Db = Kysely<Database>;

export async function insertMember(db: Db, row: MembersTable): Promise<void> {
  await db.insertInto("members").values(row).execute();
}

export async function findMember(db: Db, shopId: string, memberId: string): Promise<MembersTable | undefined> {
  return db
    .selectFrom("members")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", memberId)
    .executeTakeFirst();
}

export async function updateMember(
  db: Db,
  shopId: string,
  memberId: string,
  changes: Partial<Omit<MembersTable, "shop_id" | "id" | "created_at">>,
): Promise<void> {
  await db.updateTable("members").set(changes).where("shop_id", "=", shopId).where("id", "=", memberId).execute();
}

export interface MemberFilter {
  limit: number;
  before?: string | undefined;
  status?: MemberStatus | undefined;
  createdFrom?: string | undefined;
  createdTo?: string | undefined;
  /** Prefix of an email, a phone number (digits, with or without +) or a name, in any case. */
  search?: string | undefined;
  /** A tag the member has, in any case (as `lower()` folds it: ASCII on SQLite). */
  tag?: string | undefined;
}

export async function listMembers(db: Db, shopId: string, filter: MemberFilter): Promise<MembersTable[]> {
  let query = db.selectFrom("members").selectAll().where("shop_id", "=", shopId);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (filter.createdFrom) query = query.where("created_at", ">=", filter.createdFrom);
  if (filter.createdTo) query = query.where("created_at", "<", filter.createdTo);
  if (filter.before) query = query.where("id", "<", filter.before);
  const search = filter.search;
  if (search) {
    // LIKE with the prefix's own wildcards escaped, so "50%" finds "50%off@…" and nothing else.
    const prefix = (text: string) => `${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    // Emails are stored lower-cased and phones in E.164: a query starting with a digit means the
    // number after the +.
    const pattern = prefix(search.toLowerCase().replace(/^(?=\d)/, "+"));
    // Names are lowered by the database on both sides. A query lowered in JavaScript ("öz") never
    // matched "Özdemir" on SQLite (its lower() folds ASCII only) or on a C-locale PostgreSQL; this
    // way a name is found as written everywhere, and case-insensitively for ASCII.
    const namePattern = prefix(search);
    query = query.where((eb) =>
      eb.or([
        eb(sql`lower(given_name)`, "like", sql`lower(${namePattern}) escape '\\'`),
        eb(sql`lower(family_name)`, "like", sql`lower(${namePattern}) escape '\\'`),
        eb(
          "id",
          "in",
          eb
            .selectFrom("member_identifiers")
            .select("member_id")
            .where("shop_id", "=", shopId)
            .where("kind", "in", ["email", "phone"])
            .where(sql`value`, "like", sql`${pattern} escape '\\'`),
        ),
      ]),
    );
  }
  const tag = filter.tag;
  if (tag) {
    // One element of the tags array equals the tag, lowered on both sides by the database (as
    // the name search does). Each element is compared whole: "vip" does not find "vip-gold".
    const hasTag =
      db.getExecutor().adapter instanceof PostgresAdapter
        ? sql<boolean>`exists (select 1 from jsonb_array_elements_text(members.tags::jsonb) as member_tag(value) where lower(member_tag.value) = lower(${tag}))`
        : sql<boolean>`exists (select 1 from json_each(members.tags) as member_tag where lower(member_tag.value) = lower(${tag}))`;
    query = query.where(hasTag);
  }
  return query.orderBy("id", "desc").limit(filter.limit).execute();
}

export async function insertIdentifier(db: Db, row: MemberIdentifiersTable): Promise<void> {
  await db.insertInto("member_identifiers").values(row).execute();
}

export async function findIdentifier(
  db: Db,
  shopId: string,
  kind: IdentifierKind,
  value: string,
): Promise<MemberIdentifiersTable | undefined> {
  return db
    .selectFrom("member_identifiers")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("kind", "=", kind)
    .where("value", "=", value)
    .executeTakeFirst();
}

export async function listIdentifiers(db: Db, shopId: string, memberIds: string[]): Promise<MemberIdentifiersTable[]> {
  if (memberIds.length === 0) return [];
  return db
    .selectFrom("member_identifiers")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "in", memberIds)
    .orderBy("created_at")
    .orderBy("kind")
    .orderBy("value")
    .execute();
}

export async function markIdentifierVerified(
  db: Db,
  shopId: string,
  kind: IdentifierKind,
  value: string,
  at: string,
): Promise<void> {
  await db
    .updateTable("member_identifiers")
    .set({ verified_at: at })
    .where("shop_id", "=", shopId)
    .where("kind", "=", kind)
    .where("value", "=", value)
    .where("verified_at", "is", null)
    .execute();
}

export async function deleteIdentifier(db: Db, shopId: string, kind: IdentifierKind, value: string): Promise<void> {
  await db
    .deleteFrom("member_identifiers")
    .where("shop_id", "=", shopId)
    .where("kind", "=", kind)
    .where("value", "=", value)
    .execute();
}

export async function insertConsent(db: Db, row: MemberConsentsTable): Promise<void> {
  await db.insertInto("member_consents").values(row).execute();
}

/** A member's consent history, newest first. */
export async function listConsents(
  db: Db,
  shopId: string,
  memberId: string,
  page: { limit: number; before?: string | undefined },
): Promise<MemberConsentsTable[]> {
  let query = db
    .selectFrom("member_consents")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId);
  if (page.before) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

/**
 * The latest record per purpose: the member's current consent. Latest by `recorded_at`, then id:
 * a merge copies the duplicate's history with new ids, and an old copy must not outrank a newer
 * record of the survivor.
 */
export async function listCurrentConsents(db: Db, shopId: string, memberId: string): Promise<MemberConsentsTable[]> {
  return db
    .selectFrom("member_consents as c")
    .selectAll("c")
    .where("c.shop_id", "=", shopId)
    .where("c.member_id", "=", memberId)
    .where((eb) =>
      eb(
        "c.id",
        "=",
        eb
          .selectFrom("member_consents as latest")
          .select("latest.id")
          .where("latest.shop_id", "=", shopId)
          .where("latest.member_id", "=", memberId)
          .whereRef("latest.purpose", "=", "c.purpose")
          .orderBy("latest.recorded_at", "desc")
          .orderBy("latest.id", "desc")
          .limit(1),
      ),
    )
    .execute();
}

export async function listAttributeDefinitions(db: Db, shopId: string): Promise<MemberAttributeDefinitionsTable[]> {
  return db
    .selectFrom("member_attribute_definitions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .orderBy("key")
    .execute();
}

export async function upsertAttributeDefinition(db: Db, row: MemberAttributeDefinitionsTable): Promise<void> {
  await db
    .insertInto("member_attribute_definitions")
    .values(row)
    .onConflict((conflict) =>
      conflict.columns(["shop_id", "key"]).doUpdateSet({
        type: row.type,
        label: row.label,
        required: row.required,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

export async function deleteAttributeDefinition(db: Db, shopId: string, key: string): Promise<number> {
  const result = await db
    .deleteFrom("member_attribute_definitions")
    .where("shop_id", "=", shopId)
    .where("key", "=", key)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
