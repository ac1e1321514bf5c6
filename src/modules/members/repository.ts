import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { MemberStatus, MembersTable } from "./tables.js";

export interface Member {
  id: string;
  shopId: string;
  status: MemberStatus;
  createdAt: string;
  updatedAt: string;
}

export function toMember(row: MembersTable): Member {
  return {
    id: row.id,
    shopId: row.shop_id,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertMember(db: Kysely<Database>, row: MembersTable): Promise<void> {
  await db.insertInto("members").values(row).execute();
}

export async function findMember(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
): Promise<MembersTable | undefined> {
  return db
    .selectFrom("members")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", memberId)
    .executeTakeFirst();
}
