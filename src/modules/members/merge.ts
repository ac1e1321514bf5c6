import { earliest } from "../../platform/clock.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { type OutboxEvent, writeOutboxEvents } from "../../platform/outbox.js";
import { type Actor, transferAccount } from "../ledger/index.js";
import * as repository from "./repository.js";
import { type Member, toMember, toMemberJson } from "./representation.js";
import { isProfileComplete } from "./service.js";
import type { MemberConsentsTable, MembersTable } from "./tables.js";
import { maxTags, uniqueTags } from "./tags.js";

export interface MergeInput {
  shopId: string;
  /** The member that stays. */
  survivorId: string;
  /** The member merged into the survivor; it ends `cancelled`, pointing at the survivor. */
  duplicateId: string;
  actor: Actor;
}

export interface MergeResult {
  /** The survivor after the merge. */
  member: Member;
  /** True when the duplicate had already been merged into this survivor: nothing changed. */
  replayed: boolean;
  /** The ledger transfer that moved the duplicate's points; null when it held none. */
  pointsTransactionId: string | null;
}

/**
 * Takes a member row's lock with a no-op update: on PostgreSQL the row stays locked until the
 * transaction ends, and RETURNING reads the latest committed version (a plain SELECT before the
 * lock could act on a row a concurrent merge has just changed).
 */
async function lockMember(trx: Tx, shopId: string, memberId: string): Promise<MembersTable> {
  const row = await trx
    .updateTable("members")
    .set((eb) => ({ updated_at: eb.ref("updated_at") }))
    .where("shop_id", "=", shopId)
    .where("id", "=", memberId)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  return row;
}

function notMergeable(detail: string): AppError {
  return new AppError("member_not_mergeable", detail);
}

function refuseUnmergeable(survivor: MembersTable, duplicate: MembersTable): void {
  if (survivor.id === duplicate.id) throw notMergeable("A member cannot be merged into itself");
  if (survivor.merged_into_member_id !== null) {
    throw notMergeable(
      `Member ${survivor.id} was merged into ${survivor.merged_into_member_id}; merge into that member instead`,
    );
  }
  if (duplicate.merged_into_member_id !== null) {
    throw notMergeable(`Member ${duplicate.id} was already merged into ${duplicate.merged_into_member_id}`);
  }
  for (const row of [survivor, duplicate]) {
    if (row.status === "erased") throw notMergeable(`Member ${row.id} is erased`);
  }
  if (survivor.status === "cancelled") {
    throw notMergeable(`Member ${survivor.id} is cancelled; merge into a member whose membership is open`);
  }
}

/** Key by key, the survivor's value wins; the duplicate's fills in keys the survivor lacks. */
function mergeJson(survivor: string, duplicate: string): string {
  return JSON.stringify({
    ...(JSON.parse(duplicate) as Record<string, unknown>),
    ...(JSON.parse(survivor) as Record<string, unknown>),
  });
}

/** The survivor's row with every gap filled from the duplicate; the survivor wins wherever both have a value. */
function mergedProfile(survivor: MembersTable, duplicate: MembersTable, timestamp: string): MembersTable {
  const row: MembersTable = {
    ...survivor,
    given_name: survivor.given_name ?? duplicate.given_name,
    family_name: survivor.family_name ?? duplicate.family_name,
    name_order: survivor.name_order ?? duplicate.name_order,
    locale: survivor.locale ?? duplicate.locale,
    country: survivor.country ?? duplicate.country,
    marketing_preferences: mergeJson(survivor.marketing_preferences, duplicate.marketing_preferences),
    attributes: mergeJson(survivor.attributes, duplicate.attributes),
    // The survivor's tags, then the duplicate's it lacks (in any case), up to the limit.
    tags: JSON.stringify(
      uniqueTags([...(JSON.parse(survivor.tags) as string[]), ...(JSON.parse(duplicate.tags) as string[])]).slice(
        0,
        maxTags,
      ),
    ),
    // The person completed a profile at the earlier of the two moments; a merge never completes
    // it a second time (profile.completed may carry a reward).
    profile_completed_at: earliest([survivor.profile_completed_at, duplicate.profile_completed_at]),
    updated_at: timestamp,
  };
  // A birthday is one value: taken whole, except that a year the survivor lacks is taken for the same day.
  if (survivor.birthday_month === null || survivor.birthday_day === null) {
    row.birthday_month = duplicate.birthday_month;
    row.birthday_day = duplicate.birthday_day;
    row.birthday_year = duplicate.birthday_year;
  } else if (
    survivor.birthday_year === null &&
    survivor.birthday_month === duplicate.birthday_month &&
    survivor.birthday_day === duplicate.birthday_day
  ) {
    row.birthday_year = duplicate.birthday_year;
  }
  if (survivor.status === "guest" && duplicate.status === "active") row.status = "active";
  // joined_at stays null for a guest: it says when the member became active.
  row.joined_at = row.status === "guest" ? null : earliest([survivor.joined_at, duplicate.joined_at]);
  return row;
}

/**
 * Copies the duplicate's consent history to the survivor, as new rows with the original
 * channel, wording and time. Returns the `consent.updated` events for the purposes whose current
 * state is now one of the copies (the duplicate's record was more recent than the survivor's).
 */
async function copyConsents(
  trx: Tx,
  shopId: string,
  survivorId: string,
  duplicateId: string,
  now: Date,
): Promise<OutboxEvent[]> {
  const rows = await trx
    .selectFrom("member_consents")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", duplicateId)
    .orderBy("id")
    .execute();
  if (rows.length === 0) return [];
  const before = await repository.listCurrentConsents(trx, shopId, survivorId);
  const copies = new Set<string>();
  for (const row of rows) {
    const copy: MemberConsentsTable = { ...row, id: newId("consent", now), member_id: survivorId };
    await repository.insertConsent(trx, copy);
    copies.add(copy.id);
  }
  const after = await repository.listCurrentConsents(trx, shopId, survivorId);
  return after
    .filter((current) => copies.has(current.id) && !before.some((earlier) => earlier.id === current.id))
    .map((current) => ({
      type: "consent.updated",
      subjectType: "member",
      subjectId: survivorId,
      data: {
        member_id: survivorId,
        purpose: current.purpose,
        granted: current.status === "granted",
        channel: current.channel,
        source: current.source,
        wording_version: current.wording_version,
        recorded_at: current.recorded_at,
        merged_from_member_id: duplicateId,
      },
    }));
}

/**
 * Merges a duplicate member into a survivor, in the caller's transaction: identifiers, profile
 * gaps, consent history and points move to the survivor; the duplicate ends `cancelled` with
 * `merged_into_member_id` set. Members earlier merged into the duplicate are re-pointed at the
 * survivor, so a member's merged history is always one level deep. Merging again into the same
 * survivor returns it unchanged; anything else that cannot be merged is 409 `member_not_mergeable`,
 * and a duplicate with active reservations is 409 `reservations_active` (nothing changes).
 */
export async function mergeMembers(trx: Tx, input: MergeInput, now: Date): Promise<MergeResult> {
  const { shopId, survivorId, duplicateId } = input;
  // Both member rows are locked first, in id order, so concurrent merges of the same two members
  // (either way round) queue instead of deadlocking; the ledger then locks the points accounts in
  // the same order.
  const locked = new Map<string, MembersTable>();
  for (const memberId of [...new Set([survivorId, duplicateId])].sort()) {
    locked.set(memberId, await lockMember(trx, shopId, memberId));
  }
  const survivor = locked.get(survivorId) as MembersTable;
  const duplicate = locked.get(duplicateId) as MembersTable;

  if (duplicate.merged_into_member_id === survivorId) {
    const identifiers = await repository.listIdentifiers(trx, shopId, [survivorId]);
    return { member: toMember(survivor, identifiers), replayed: true, pointsTransactionId: null };
  }
  refuseUnmergeable(survivor, duplicate);

  const transfer = await transferAccount(
    trx,
    {
      shopId,
      fromMemberId: duplicateId,
      toMemberId: survivorId,
      actor: input.actor,
      reason: `Merged member ${duplicateId} into ${survivorId}`,
      reference: duplicateId,
    },
    now,
  );

  const timestamp = now.toISOString();
  // Linked to the survivor now: the survivor's own email and phone stay its first (primary) ones.
  await trx
    .updateTable("member_identifiers")
    .set({ member_id: survivorId, created_at: timestamp })
    .where("shop_id", "=", shopId)
    .where("member_id", "=", duplicateId)
    .execute();
  const consentEvents = await copyConsents(trx, shopId, survivorId, duplicateId, now);

  const merged = mergedProfile(survivor, duplicate, timestamp);
  const survivorIdentifiers = await repository.listIdentifiers(trx, shopId, [survivorId]);
  // Neither profile was complete, but together they are: that is the moment it completes.
  const completesNow =
    merged.profile_completed_at === null &&
    isProfileComplete(merged, survivorIdentifiers, await repository.listAttributeDefinitions(trx, shopId));
  if (completesNow) merged.profile_completed_at = timestamp;
  await repository.updateMember(trx, shopId, survivorId, merged);
  await repository.updateMember(trx, shopId, duplicateId, {
    status: "cancelled",
    merged_into_member_id: survivorId,
    updated_at: timestamp,
  });
  await trx
    .updateTable("members")
    .set({ merged_into_member_id: survivorId, updated_at: timestamp })
    .where("shop_id", "=", shopId)
    .where("merged_into_member_id", "=", duplicateId)
    .execute();

  const member = toMember(merged, survivorIdentifiers);
  const pointsTransactionId = transfer?.transaction.id ?? null;
  await writeOutboxEvents(
    trx,
    shopId,
    [
      ...consentEvents,
      {
        type: "member.merged",
        subjectType: "member",
        subjectId: survivorId,
        data: {
          member: toMemberJson(member),
          survivor_id: survivorId,
          duplicate_id: duplicateId,
          points_moved: transfer?.transaction.amount ?? 0,
          points_transaction_id: pointsTransactionId,
        },
      },
      ...(completesNow
        ? [
            {
              type: "profile.completed",
              subjectType: "member",
              subjectId: survivorId,
              data: { member: toMemberJson(member) },
            },
          ]
        : []),
    ],
    now,
  );
  return { member, replayed: false, pointsTransactionId };
}
