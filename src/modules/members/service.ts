import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { writeOutboxEvents } from "../../platform/outbox.js";
import { openPointsAccount } from "../ledger/index.js";
import type { Member } from "./repository.js";
import * as repository from "./repository.js";
import { toMemberResponse } from "./schema.js";

export type { Member };

/** Creates an active member with an empty points account. */
export async function createMember(trx: Tx, input: { shopId: string }, now: Date): Promise<Member> {
  const timestamp = now.toISOString();
  const row = {
    shop_id: input.shopId,
    id: newId("member", now),
    status: "active" as const,
    created_at: timestamp,
    updated_at: timestamp,
  };
  await repository.insertMember(trx, row);
  await openPointsAccount(trx, input.shopId, row.id, now);
  const member = repository.toMember(row);
  await writeOutboxEvents(
    trx,
    input.shopId,
    [
      {
        type: "member.created",
        subjectType: "member",
        subjectId: member.id,
        data: { member: toMemberResponse(member) },
      },
    ],
    now,
  );
  return member;
}

export async function getMember(db: Kysely<Database>, shopId: string, memberId: string): Promise<Member> {
  const row = await repository.findMember(db, shopId, memberId);
  if (!row) throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  return repository.toMember(row);
}
