import type { Kysely } from "kysely";
import { addMonths } from "../../platform/clock.js";
import type { DatabaseHandle } from "../../platform/db/database.js";
import { withInsertBuffer } from "../../platform/db/insert-buffer.js";
import type { Database } from "../../platform/db/schema.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { writeOutboxEvents } from "../../platform/outbox.js";
import { zonedDateTime } from "../../platform/zoned-time.js";
// The events module's read of order history; imported from its file, not its index, because the
// events module calls this one when an event lands (an index import would make a cycle).
import { type MemberActivity, memberActivity, noActivity } from "../events/activity.js";
import { type Actor, creditPoints, lockMemberAccount, systemActor } from "../ledger/index.js";
import { getMember } from "../members/index.js";
import type { Shop } from "../shops/index.js";
import { getShop } from "../shops/index.js";
import { normalizeProgram, type Tier, type TierProgram, type TierProgramDraft } from "./program.js";
import { downgradeTarget, formatCurrency, nextPeriodEnd, qualificationWindow, qualifiedTierIndex } from "./qualify.js";
import * as repository from "./repository.js";
import type { MemberTiersTable, TierChangeKind, TierChangesTable } from "./tables.js";

/** Entry rewards and birthday gifts expire like earning-rule points by default. */
const giftExpiryMonths = 12;

export interface StoredProgram {
  version: number;
  program: TierProgram;
  createdAt: string;
  updatedAt: string;
}

/** What the tier logic needs of a member. */
interface TierMember {
  id: string;
  /** When the member joined the program: membership time counts from here. */
  since: string;
}

/** A member's tier as stored, or the base tier for a member who never had a row. */
export interface MemberTierState {
  row: MemberTiersTable | null;
  index: number;
  tier: Tier;
}

export async function getProgram(db: Kysely<Database>, shopId: string): Promise<StoredProgram | undefined> {
  const row = await repository.findProgram(db, shopId);
  if (!row) return undefined;
  return {
    version: row.version,
    program: JSON.parse(row.definition) as TierProgram,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getProgramOrThrow(db: Kysely<Database>, shopId: string): Promise<StoredProgram> {
  const stored = await getProgram(db, shopId);
  if (!stored) {
    throw new AppError("tier_program_not_found", "This shop has no tier program yet; create one with PUT /v1/tiers");
  }
  return stored;
}

/** Checks a draft and fills in its defaults, or refuses it with every problem at once. */
export function checkProgram(draft: TierProgramDraft, shop: Shop, pointer = "/body"): TierProgram {
  const { program, errors } = normalizeProgram(draft, shop.baseCurrency, pointer);
  if (errors.length > 0) throw new AppError("validation_failed", "The tier program is not valid", { errors });
  return program;
}

/**
 * Saves the program as its next version. Members keep their tier and the version that gave it
 * until their next evaluation; a change that removes a tier some member holds is refused.
 */
export async function saveProgram(
  trx: Tx,
  shop: Shop,
  draft: TierProgramDraft,
  actor: Actor,
  now: Date,
): Promise<{ stored: StoredProgram; created: boolean }> {
  const program = checkProgram(draft, shop);
  const current = await repository.findProgram(trx, shop.id);
  if (current) {
    const before = JSON.parse(current.definition) as TierProgram;
    const kept = new Set(program.tiers.map((tier) => tier.key));
    const removed = before.tiers.map((tier) => tier.key).filter((key) => !kept.has(key));
    const holding = await repository.countMembersInTiers(trx, shop.id, removed);
    if (holding > 0) {
      throw new AppError(
        "tier_in_use",
        `${holding} member(s) hold the tier(s) ${removed.join(", ")} this change removes; keep their keys, or assign those members another tier first`,
      );
    }
  }
  const version = (current?.version ?? 0) + 1;
  const definition = JSON.stringify(program);
  const at = now.toISOString();
  if (current) {
    await trx
      .updateTable("tier_programs")
      .set({ version, definition, updated_at: at })
      .where("shop_id", "=", shop.id)
      .execute();
  } else {
    await trx
      .insertInto("tier_programs")
      .values({ shop_id: shop.id, version, definition, created_at: at, updated_at: at })
      .execute();
  }
  await trx
    .insertInto("tier_program_versions")
    .values({ shop_id: shop.id, version, definition, actor_type: actor.type, actor_id: actor.id, created_at: at })
    .execute();
  await writeOutboxEvents(
    trx,
    shop.id,
    [{ type: "tier_program.updated", subjectType: "shop", subjectId: shop.id, data: { version, program } }],
    now,
  );
  return {
    stored: { version, program, createdAt: current?.created_at ?? at, updatedAt: at },
    created: current === undefined,
  };
}

export async function listProgramVersions(db: Kysely<Database>, shopId: string) {
  const rows = await db
    .selectFrom("tier_program_versions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .orderBy("version", "desc")
    .execute();
  return rows.map((row) => ({
    version: row.version,
    program: JSON.parse(row.definition) as TierProgram,
    actor: { type: row.actor_type, id: row.actor_id },
    createdAt: row.created_at,
  }));
}

function tierIndex(program: TierProgram, key: string): number {
  const index = program.tiers.findIndex((tier) => tier.key === key);
  // A stored tier always exists in the program: saveProgram refuses to remove a held one.
  if (index < 0) throw new Error(`tier ${key} is not in the program`);
  return index;
}

function stateOf(program: TierProgram, row: MemberTiersTable | null | undefined): MemberTierState {
  const index = row ? tierIndex(program, row.tier) : 0;
  return { row: row ?? null, index, tier: program.tiers[index] as Tier };
}

export async function memberTierState(
  db: Kysely<Database>,
  shopId: string,
  program: TierProgram,
  memberId: string,
): Promise<MemberTierState> {
  return stateOf(program, await repository.findMemberTier(db, shopId, memberId));
}

async function activityOf(
  trx: Tx,
  shop: Shop,
  program: TierProgram,
  memberId: string,
  at: Date,
): Promise<MemberActivity> {
  const window = qualificationWindow(program, at, shop.timezone);
  return (await memberActivity(trx, shop.id, [memberId], window)).get(memberId) ?? { ...noActivity };
}

function dueAt(row: Pick<MemberTiersTable, "period_ends_at" | "grace_until" | "locked_until">): string | null {
  const next = row.grace_until ?? row.period_ends_at;
  if (next === null) return null;
  // A lock holds the tier: nothing is re-evaluated before it ends.
  return row.locked_until !== null && row.locked_until > next ? row.locked_until : next;
}

interface ChangeContext {
  shop: Shop;
  stored: StoredProgram;
  actor: Actor;
  now: Date;
}

interface Change {
  kind: TierChangeKind;
  to: number;
  reason: string;
  metrics?: MemberActivity | undefined;
  eventId?: string | undefined;
  lockedUntil?: string | null | undefined;
}

/** What an evaluation changed, as event explanations show it. */
export interface TierChangeResult {
  kind: TierChangeKind;
  from: string | null;
  to: string;
  reason: string;
  entry_reward_transaction_id: string | null;
}

const outboxTypes: Partial<Record<TierChangeKind, string>> = {
  upgrade: "tier.upgraded",
  downgrade: "tier.downgraded",
  assigned: "tier.assigned",
};

/**
 * Moves a member to another tier (or records a grace period): the member's row, the history line,
 * the outbox event, and the entry reward of a tier the member reaches for the first time.
 */
async function applyChange(
  trx: Tx,
  context: ChangeContext,
  member: TierMember,
  state: MemberTierState,
  change: Change,
  row: Omit<MemberTiersTable, "due_at" | "updated_at">,
): Promise<TierChangeResult> {
  const { shop, stored, actor, now } = context;
  const at = now.toISOString();
  await repository.saveMemberTier(trx, { ...row, due_at: dueAt(row), updated_at: at });
  const to = stored.program.tiers[change.to] as Tier;
  const from = state.row ? state.tier.key : (stored.program.tiers[0]?.key ?? null);
  const history: TierChangesTable = {
    shop_id: shop.id,
    id: newId("tierChange", now),
    member_id: member.id,
    kind: change.kind,
    from_tier: from,
    to_tier: to.key,
    reason: change.reason,
    program_version: stored.version,
    metrics: change.metrics ? JSON.stringify(change.metrics) : null,
    event_id: change.eventId ?? null,
    actor_type: actor.type,
    actor_id: actor.id,
    created_at: at,
  };
  await repository.insertTierChange(trx, history);
  let entryRewardTransactionId: string | null = null;
  if (change.to > state.index && to.entry_reward !== null && to.entry_reward.points > 0) {
    const key = { shop_id: shop.id, member_id: member.id, tier: to.key };
    if (await repository.claimEntryReward(trx, { ...key, created_at: at })) {
      const { transaction } = await creditPoints(
        trx,
        {
          shopId: shop.id,
          memberId: member.id,
          type: "earn",
          amount: to.entry_reward.points,
          expiresAt: addMonths(at, giftExpiryMonths),
          reason: `Entry reward: ${to.key} tier`,
          reference: `tier:${to.key}`,
          actor,
        },
        now,
      );
      entryRewardTransactionId = transaction.id;
      await repository.setEntryRewardTransaction(trx, key, transaction.id);
    }
  }
  const outboxType = outboxTypes[change.kind];
  if (outboxType) {
    await writeOutboxEvents(
      trx,
      shop.id,
      [
        {
          type: outboxType,
          subjectType: "member",
          subjectId: member.id,
          data: {
            member_id: member.id,
            from,
            to: to.key,
            reason: change.reason,
            program_version: stored.version,
            since: row.since,
            locked_until: row.locked_until,
            entry_reward_transaction_id: entryRewardTransactionId,
          },
        },
      ],
      now,
    );
  }
  return {
    kind: change.kind,
    from,
    to: to.key,
    reason: change.reason,
    entry_reward_transaction_id: entryRewardTransactionId,
  };
}

/** Moves the member to tier `to` from now on: a new period, no grace, the lock kept unless given. */
function movedRow(
  context: ChangeContext,
  member: TierMember,
  state: MemberTierState,
  to: number,
  lockedUntil?: string | null,
): Omit<MemberTiersTable, "due_at" | "updated_at"> {
  const { shop, stored, now } = context;
  return {
    shop_id: shop.id,
    member_id: member.id,
    tier: (stored.program.tiers[to] as Tier).key,
    since: now.toISOString(),
    program_version: stored.version,
    // The base tier is never lost, so there is nothing to re-evaluate on it.
    period_ends_at: to === 0 ? null : nextPeriodEnd(stored.program, now, shop.timezone),
    grace_until: null,
    locked_until: lockedUntil === undefined ? (state.row?.locked_until ?? null) : lockedUntil,
  };
}

function describeActivity(activity: MemberActivity, currency: string): string {
  const spend = formatCurrency({ amount: activity.spend, currency });
  return `spent ${spend}, ${activity.orders} order(s), ${activity.points} point(s) in the window`;
}

/**
 * After an event changed what a member did: upgrades at once when the member now qualifies for a
 * higher tier, and ends a grace period when the member qualifies for their tier again. Runs in the
 * event's transaction, after its points. Downgrades never happen here.
 */
export async function evaluateAfterActivity(
  trx: Tx,
  input: { shop: Shop; stored: StoredProgram; member: TierMember; eventId: string | null; actor?: Actor },
  now: Date,
): Promise<TierChangeResult | null> {
  const { shop, stored, member } = input;
  const context: ChangeContext = { shop, stored, actor: input.actor ?? systemActor, now };
  await lockMemberAccount(trx, shop.id, member.id);
  const state = await memberTierState(trx, shop.id, stored.program, member.id);
  if (state.index === stored.program.tiers.length - 1 && state.row?.grace_until == null) return null;
  const activity = await activityOf(trx, shop, stored.program, member.id, now);
  return upgradeIfQualified(trx, context, member, state, activity, input.eventId);
}

/**
 * With the member locked and their activity up to now read: the upgrade it earns, or the end of
 * a grace period it brings the member back from. Nothing when neither.
 */
async function upgradeIfQualified(
  trx: Tx,
  context: ChangeContext,
  member: TierMember,
  state: MemberTierState,
  activity: MemberActivity,
  eventId: string | null,
): Promise<TierChangeResult | null> {
  const { program } = context.stored;
  const qualified = qualifiedTierIndex(program, activity, member.since, context.now);
  if (qualified > state.index) {
    return applyChange(
      trx,
      context,
      member,
      state,
      {
        kind: "upgrade",
        to: qualified,
        reason: `Qualified for ${program.tiers[qualified]?.key}: ${describeActivity(activity, context.shop.baseCurrency)}`,
        metrics: activity,
        eventId: eventId ?? undefined,
      },
      movedRow(context, member, state, qualified),
    );
  }
  if (state.row && state.row.grace_until !== null && qualified >= state.index) {
    return endGrace(trx, context, member, state, activity, eventId);
  }
  return null;
}

/** The member qualifies for their tier again during a grace period: it is kept for a new period. */
async function endGrace(
  trx: Tx,
  context: ChangeContext,
  member: TierMember,
  state: MemberTierState,
  activity: MemberActivity,
  eventId: string | null,
): Promise<TierChangeResult> {
  const row = state.row as MemberTiersTable;
  return applyChange(
    trx,
    context,
    member,
    state,
    {
      kind: "grace_ended",
      to: state.index,
      reason: `Qualified again for ${state.tier.key} during the grace period: ${describeActivity(activity, context.shop.baseCurrency)}`,
      metrics: activity,
      eventId: eventId ?? undefined,
    },
    {
      ...row,
      program_version: context.stored.version,
      grace_until: null,
      period_ends_at: advancePeriod(context, row.period_ends_at),
    },
  );
}

/**
 * The end of the period after the one ending at `from`. One step only: when a sweep runs late by
 * more than a period, the member is due again at once and the next period is judged on its own.
 */
function advancePeriod(context: ChangeContext, from: string | null): string {
  const { stored, shop, now } = context;
  return nextPeriodEnd(stored.program, from === null ? now : new Date(from), shop.timezone);
}

/**
 * A member whose re-evaluation is due: at the end of a period, keeps the tier if the period's
 * activity still reaches it, else starts the grace period (or, without one, downgrades); at the
 * end of a grace period, keeps the tier if the member qualifies again, else downgrades (by at
 * most `max_downgrade_steps` tiers). Upgrades that the activity allows happen too.
 */
async function reevaluateDue(
  trx: Tx,
  context: ChangeContext,
  member: TierMember,
  state: MemberTierState,
): Promise<TierChangeResult[]> {
  const { stored, shop, now } = context;
  const program = stored.program;
  const row = state.row as MemberTiersTable;
  const nowIso = now.toISOString();
  if (row.locked_until !== null && row.locked_until > nowIso) return [];
  const inGrace = row.grace_until !== null;
  const periodEnded = row.period_ends_at !== null && row.period_ends_at <= nowIso;
  if (!inGrace && !periodEnded) {
    // Only a lock that has ended brought the member here: look again at the period's end.
    await repository.saveMemberTier(trx, {
      ...row,
      locked_until: null,
      due_at: dueAt({ ...row, locked_until: null }),
      updated_at: nowIso,
    });
    return [];
  }
  if (inGrace && (row.grace_until as string) > nowIso) return [];
  // A period is judged on its own window (its end); a grace period on the window ending now.
  const at = inGrace ? now : new Date(row.period_ends_at as string);
  const activity = await activityOf(trx, shop, program, member.id, at);
  const qualified = qualifiedTierIndex(program, activity, member.since, at);
  const results: TierChangeResult[] = [];
  if (qualified > state.index) {
    results.push(
      await applyChange(
        trx,
        context,
        member,
        state,
        {
          kind: "upgrade",
          to: qualified,
          reason: `Qualified for ${program.tiers[qualified]?.key} at re-evaluation: ${describeActivity(activity, shop.baseCurrency)}`,
          metrics: activity,
        },
        movedRow(context, member, state, qualified),
      ),
    );
    return results;
  }
  if (qualified === state.index) {
    if (inGrace) return [await endGrace(trx, context, member, state, activity, null)];
    // Kept for another period; not a change, so no history line.
    const kept = {
      ...row,
      program_version: stored.version,
      period_ends_at: advancePeriod(context, row.period_ends_at),
      locked_until: null,
    };
    await repository.saveMemberTier(trx, { ...kept, due_at: dueAt(kept), updated_at: nowIso });
    return results;
  }
  if (!inGrace && program.grace_days > 0) {
    const graceUntil = new Date(
      Date.parse(row.period_ends_at as string) + program.grace_days * 86_400_000,
    ).toISOString();
    results.push(
      await applyChange(
        trx,
        context,
        member,
        state,
        {
          kind: "grace_started",
          to: state.index,
          reason: `Short of ${state.tier.key} at the end of the period (${describeActivity(activity, shop.baseCurrency)}); ${program.grace_days} day(s) of grace to qualify again`,
          metrics: activity,
        },
        { ...row, grace_until: graceUntil, locked_until: null },
      ),
    );
    if (graceUntil > nowIso) return results;
    // The sweep ran after the grace period had already ended: judge it now.
    const graced = stateOf(program, await repository.findMemberTier(trx, shop.id, member.id));
    return [...results, ...(await reevaluateDue(trx, context, member, graced))];
  }
  const to = downgradeTarget(program, state.index, qualified);
  results.push(
    await applyChange(
      trx,
      context,
      member,
      state,
      {
        kind: "downgrade",
        to,
        reason: `Did not qualify again for ${state.tier.key}${inGrace ? " by the end of the grace period" : ""}: ${describeActivity(activity, shop.baseCurrency)}`,
        metrics: activity,
      },
      movedRow(context, member, state, to, null),
    ),
  );
  return results;
}

async function tierMember(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
): Promise<TierMember & { locale: string | null }> {
  const member = await getMember(db, shopId, memberId);
  return { id: member.id, since: member.joinedAt ?? member.createdAt, locale: member.locale };
}

/** An admin puts a member on a tier, optionally holding it (no downgrade) until `lockedUntil`. */
export async function assignTier(
  trx: Tx,
  input: { shopId: string; memberId: string; tier: string; reason: string; lockedUntil: string | null; actor: Actor },
  now: Date,
): Promise<TierChangeResult> {
  const shop = await getShop(trx, input.shopId);
  // The member first: another shop's member is 404 whether or not this shop has tiers.
  const member = await tierMember(trx, shop.id, input.memberId);
  const stored = await getProgramOrThrow(trx, shop.id);
  const to = stored.program.tiers.findIndex((tier) => tier.key === input.tier);
  if (to < 0) {
    throw new AppError("validation_failed", `No tier ${input.tier} in the program`, {
      errors: [
        {
          pointer: "/body/tier",
          message: `must be one of ${stored.program.tiers.map((tier) => tier.key).join(", ")}`,
        },
      ],
    });
  }
  if (input.lockedUntil !== null && input.lockedUntil <= now.toISOString()) {
    throw new AppError("validation_failed", "The lock must end in the future", {
      errors: [{ pointer: "/body/locked_until", message: "must be in the future" }],
    });
  }
  await lockMemberAccount(trx, shop.id, member.id);
  const state = await memberTierState(trx, shop.id, stored.program, member.id);
  const context: ChangeContext = { shop, stored, actor: input.actor, now };
  return applyChange(
    trx,
    context,
    member,
    state,
    { kind: "assigned", to, reason: input.reason, lockedUntil: input.lockedUntil },
    movedRow(context, member, state, to, input.lockedUntil),
  );
}

export interface SweepProgress {
  evaluated: number;
  changed: number;
}

const dueChunk = 200;
const allChunk = 1000;

/**
 * Re-evaluates the members whose period, grace or lock has ended, in chunks of one transaction
 * each. Idempotent: a member's due moment moves forward when it is handled, so a second run (or a
 * second process) finds nothing left to do for that period.
 */
export async function reevaluateDueMembers(
  database: DatabaseHandle,
  shopId: string,
  now: Date,
  onProgress?: (progress: SweepProgress) => void,
): Promise<SweepProgress> {
  const progress: SweepProgress = { evaluated: 0, changed: 0 };
  const shop = await getShop(database.db, shopId);
  const stored = await getProgram(database.db, shopId);
  if (!stored) return progress;
  const context: ChangeContext = { shop, stored, actor: systemActor, now };
  for (;;) {
    const due = await repository.listDueMemberTiers(database.db, shopId, now.toISOString(), dueChunk);
    if (due.length === 0) return progress;
    await withTransaction(database, async (trx) => {
      for (const candidate of due) {
        await lockMemberAccount(trx, shopId, candidate.member_id);
        // Read again under the lock: an event or another sweep may have handled the member since.
        const row = await repository.findMemberTier(trx, shopId, candidate.member_id);
        if (!row || row.due_at === null || row.due_at > now.toISOString()) continue;
        const member = await tierMember(trx, shopId, row.member_id);
        const changes = await reevaluateDue(trx, context, member, stateOf(stored.program, row));
        progress.evaluated += 1;
        if (changes.some((change) => change.kind === "upgrade" || change.kind === "downgrade")) progress.changed += 1;
      }
    });
    onProgress?.({ ...progress });
  }
}

/**
 * Evaluates every active member of the shop (after a program change, or to check the whole
 * program): upgrades whoever qualifies for more and re-evaluates whoever is due, reading activity
 * for a thousand members in two queries. Resumable: each chunk commits with its cursor, and an
 * unfinished run is continued rather than restarted.
 */
export async function reevaluateAllMembers(
  database: DatabaseHandle,
  shopId: string,
  now: Date,
  onProgress?: (progress: SweepProgress & { total: number }) => void,
  chunkSize = allChunk,
): Promise<SweepProgress & { sweepId: string; resumed: boolean }> {
  const shop = await getShop(database.db, shopId);
  const stored = await getProgramOrThrow(database.db, shopId);
  const program = stored.program;
  const context: ChangeContext = { shop, stored, actor: systemActor, now };
  const nowIso = now.toISOString();
  const unfinished = await repository.findUnfinishedSweep(database.db, shopId);
  const sweep = unfinished ?? {
    shop_id: shopId,
    id: newId("tierSweep", now),
    cursor: null,
    evaluated: 0,
    changed: 0,
    started_at: nowIso,
    updated_at: nowIso,
    finished_at: null,
  };
  if (!unfinished) await database.db.insertInto("tier_sweeps").values(sweep).execute();
  const total = Number(
    (
      await database.db
        .selectFrom("members")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("shop_id", "=", shopId)
        .where("status", "=", "active")
        .executeTakeFirstOrThrow()
    ).count,
  );
  const window = qualificationWindow(program, now, shop.timezone);
  for (;;) {
    let query = database.db
      .selectFrom("members")
      .leftJoin("member_tiers", (join) =>
        join.onRef("member_tiers.shop_id", "=", "members.shop_id").onRef("member_tiers.member_id", "=", "members.id"),
      )
      .select(["members.id", "members.joined_at", "members.created_at", "member_tiers.tier", "member_tiers.due_at"])
      .where("members.shop_id", "=", shopId)
      .where("members.status", "=", "active");
    if (sweep.cursor !== null) query = query.where("members.id", ">", sweep.cursor);
    const members = await query.orderBy("members.id").limit(chunkSize).execute();
    if (members.length === 0) break;
    await withTransaction(database, async (trx) => {
      const activity = await memberActivity(
        trx,
        shopId,
        members.map((member) => member.id),
        window,
      );
      // Only the members something may happen to are locked and read again, all at once.
      const candidates = members.filter((candidate) => {
        const current = candidate.tier ? tierIndex(program, candidate.tier) : 0;
        const since = candidate.joined_at ?? candidate.created_at;
        const qualified = qualifiedTierIndex(program, activity.get(candidate.id) ?? noActivity, since, now);
        return qualified > current || (candidate.due_at !== null && candidate.due_at <= nowIso);
      });
      if (candidates.length > 0) {
        const ids = candidates.map((candidate) => candidate.id);
        for (const id of ids) await lockMemberAccount(trx, shopId, id);
        // Under the locks: what an event committed meanwhile is in these figures.
        const fresh = await memberActivity(trx, shopId, ids, window);
        const rows = await repository.findMemberTiers(trx, shopId, ids);
        // History lines and outbox events go in as multi-row inserts at the end of the chunk.
        await withInsertBuffer(trx, async () => {
          for (const candidate of candidates) {
            const member = { id: candidate.id, since: candidate.joined_at ?? candidate.created_at };
            const state = stateOf(program, rows.get(member.id));
            const due = state.row?.due_at != null && state.row.due_at <= nowIso;
            const changes = due
              ? await reevaluateDue(trx, context, member, state)
              : [
                  await upgradeIfQualified(
                    trx,
                    context,
                    member,
                    state,
                    fresh.get(member.id) ?? { ...noActivity },
                    null,
                  ),
                ];
            if (changes.some((change) => change?.kind === "upgrade" || change?.kind === "downgrade"))
              sweep.changed += 1;
          }
        });
      }
      sweep.evaluated += members.length;
      sweep.cursor = (members[members.length - 1] as { id: string }).id;
      sweep.updated_at = nowIso;
      await trx
        .updateTable("tier_sweeps")
        .set({ cursor: sweep.cursor, evaluated: sweep.evaluated, changed: sweep.changed, updated_at: nowIso })
        .where("shop_id", "=", shopId)
        .where("id", "=", sweep.id)
        .execute();
    });
    onProgress?.({ evaluated: sweep.evaluated, changed: sweep.changed, total });
  }
  await database.db
    .updateTable("tier_sweeps")
    .set({ finished_at: nowIso, updated_at: nowIso })
    .where("shop_id", "=", shopId)
    .where("id", "=", sweep.id)
    .execute();
  return { evaluated: sweep.evaluated, changed: sweep.changed, sweepId: sweep.id, resumed: unfinished !== undefined };
}

/**
 * The birthday gift of the member's tier, with the member's birthday event: once per member and
 * year (in the shop time zone), however many birthday events arrive. The ledger's idempotency key
 * is what makes it once.
 */
export async function grantBirthdayGift(
  trx: Tx,
  input: {
    shop: Shop;
    stored: StoredProgram;
    memberId: string;
    event: { id: string; occurred_at: string };
    actor: Actor;
  },
  now: Date,
): Promise<{ points: number; transaction_id: string | null; note: string | null } | null> {
  const { shop, stored, memberId, event } = input;
  const state = await memberTierState(trx, shop.id, stored.program, memberId);
  const gift = state.tier.benefits.birthday_gift;
  if (!gift) return null;
  const year = zonedDateTime(new Date(event.occurred_at), shop.timezone).year;
  try {
    const { transaction, replayed } = await creditPoints(
      trx,
      {
        shopId: shop.id,
        memberId,
        type: "earn",
        amount: gift.points,
        expiresAt: addMonths(now.toISOString(), giftExpiryMonths),
        reason: `Birthday gift ${year}: ${state.tier.key} tier`,
        reference: event.id,
        idempotencyKey: `tier_birthday_gift:${memberId}:${year}`,
        actor: input.actor,
      },
      now,
    );
    if (replayed) return { points: 0, transaction_id: null, note: `the ${year} birthday gift was already given` };
    return { points: gift.points, transaction_id: transaction.id, note: null };
  } catch (error) {
    // The key was used for another amount: the program changed after this year's gift was given.
    if (error instanceof AppError && error.code === "idempotency_key_reused") {
      return { points: 0, transaction_id: null, note: `the ${year} birthday gift was already given` };
    }
    throw error;
  }
}
