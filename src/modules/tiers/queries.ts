import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import { type MemberActivity, memberActivity, noActivity } from "../events/activity.js";
import { getMember } from "../members/index.js";
import type { Shop } from "../shops/index.js";
import { type Tier, type TierProgram, tierName } from "./program.js";
import { downgradeTarget, type MissingMetric, missingFor, qualificationWindow, qualifiedTierIndex } from "./qualify.js";
import { getProgram, getProgramOrThrow, memberTierState } from "./service.js";
import type { MemberTiersTable, TierChangesTable } from "./tables.js";

export interface TierSummary {
  key: string;
  name: string;
  names: Record<string, string>;
  position: number;
  benefits: Tier["benefits"];
}

export function toTierSummary(program: TierProgram, index: number, locale: string | null): TierSummary {
  const tier = program.tiers[index] as Tier;
  return { key: tier.key, name: tierName(tier, locale), names: tier.name, position: index, benefits: tier.benefits };
}

export interface TierProgress {
  memberId: string;
  programVersion: number;
  tier: TierSummary;
  since: string | null;
  qualifiedUnderVersion: number | null;
  reevaluatesAt: string | null;
  graceUntil: string | null;
  lockedUntil: string | null;
  window: { type: TierProgram["window"]["type"]; from: string | null; to: string };
  metrics: { spend: { amount: number; currency: string }; points: number; orders: number };
  /** What keeping the current tier at the next re-evaluation still needs; null on the base tier. */
  keep: { metrics: MissingMetric[]; summary: string } | null;
  next: (TierSummary & { metrics: MissingMetric[]; summary: string }) | null;
}

/** A member's tier, what it gives, and what the next tier (and keeping this one) still needs. */
export async function getTierProgress(
  db: Kysely<Database>,
  shop: Shop,
  memberId: string,
  now: Date,
  locale?: string | null,
): Promise<TierProgress> {
  const member = await getMember(db, shop.id, memberId);
  const stored = await getProgramOrThrow(db, shop.id);
  const { program } = stored;
  const state = await memberTierState(db, shop.id, program, member.id);
  const window = qualificationWindow(program, now, shop.timezone);
  const activity = (await memberActivity(db, shop.id, [member.id], window)).get(member.id) ?? { ...noActivity };
  const language = locale ?? member.locale ?? shop.defaultLocale;
  const nextIndex = state.index + 1 < program.tiers.length ? state.index + 1 : null;
  return {
    memberId: member.id,
    programVersion: stored.version,
    tier: toTierSummary(program, state.index, language),
    since: state.row?.since ?? null,
    qualifiedUnderVersion: state.row?.program_version ?? null,
    // The sweep's own moment: the period or grace end, or a lock's end when that comes later.
    reevaluatesAt: state.row?.due_at ?? null,
    graceUntil: state.row?.grace_until ?? null,
    lockedUntil: state.row?.locked_until ?? null,
    window: { type: program.window.type, ...window },
    metrics: toMetricsJson(activity, shop.baseCurrency),
    keep: state.index === 0 ? null : missingFor(program, state.tier, activity, shop.baseCurrency),
    next:
      nextIndex === null
        ? null
        : {
            ...toTierSummary(program, nextIndex, language),
            ...missingFor(program, program.tiers[nextIndex] as Tier, activity, shop.baseCurrency),
          },
  };
}

export function toMetricsJson(activity: MemberActivity, currency: string) {
  return { spend: { amount: activity.spend, currency }, points: activity.points, orders: activity.orders };
}

export async function listTierHistory(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
  page: { limit: number; before?: string | undefined },
): Promise<TierChangesTable[]> {
  await getMember(db, shopId, memberId);
  let query = db.selectFrom("tier_changes").selectAll().where("shop_id", "=", shopId).where("member_id", "=", memberId);
  if (page.before) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

export interface TierPreview {
  members: number;
  tiers: Array<{ key: string; current: number; projected: number }>;
  upgrades: number;
  downgrades: number;
  /** Up to `sample` members that would move, with why. */
  moves: Array<{ member_id: string; from: string; to: string; metrics: ReturnType<typeof toMetricsJson> }>;
}

const previewChunk = 1000;

/**
 * Where every active member would land if the draft program re-evaluated them all now: upgrades
 * to the highest tier they qualify for, downgrades as a re-evaluation without grace would make
 * them (at most `max_downgrade_steps` tiers), members held by a lock stay. Writes nothing.
 * A member whose current tier the draft no longer has is counted from the draft's base.
 */
export async function previewProgram(
  db: Kysely<Database>,
  shop: Shop,
  program: TierProgram,
  now: Date,
  sample = 100,
): Promise<TierPreview> {
  const current = (await getProgram(db, shop.id))?.program;
  const keys = program.tiers.map((tier) => tier.key);
  const counts = new Map(keys.map((key) => [key, { key, current: 0, projected: 0 }]));
  const preview: TierPreview = { members: 0, tiers: [...counts.values()], upgrades: 0, downgrades: 0, moves: [] };
  const window = qualificationWindow(program, now, shop.timezone);
  let cursor: string | null = null;
  for (;;) {
    let query = db
      .selectFrom("members")
      .leftJoin("member_tiers", (join) =>
        join.onRef("member_tiers.shop_id", "=", "members.shop_id").onRef("member_tiers.member_id", "=", "members.id"),
      )
      .selectAll("member_tiers")
      .select(["members.id as mid", "members.joined_at", "members.created_at as member_created_at"])
      .where("members.shop_id", "=", shop.id)
      .where("members.status", "=", "active");
    if (cursor !== null) query = query.where("members.id", ">", cursor);
    const members = await query.orderBy("members.id").limit(previewChunk).execute();
    if (members.length === 0) break;
    cursor = (members[members.length - 1] as { mid: string }).mid;
    const activity = await memberActivity(
      db,
      shop.id,
      members.map((member) => member.mid),
      window,
    );
    for (const member of members) {
      preview.members += 1;
      const row = member.tier === null ? null : (member as unknown as MemberTiersTable);
      const heldKey = row?.tier ?? current?.tiers[0]?.key ?? keys[0];
      const held = Math.max(0, keys.indexOf(heldKey as string));
      const currentKey = keys[held] as string;
      (counts.get(currentKey) as { current: number }).current += 1;
      const figures = activity.get(member.mid) ?? noActivity;
      const qualified = qualifiedTierIndex(program, figures, member.joined_at ?? member.member_created_at, now);
      const locked = row?.locked_until != null && row.locked_until > now.toISOString();
      const landing = qualified >= held ? qualified : locked ? held : downgradeTarget(program, held, qualified);
      (counts.get(keys[landing] as string) as { projected: number }).projected += 1;
      if (landing === held) continue;
      if (landing > held) preview.upgrades += 1;
      else preview.downgrades += 1;
      if (preview.moves.length < sample) {
        preview.moves.push({
          member_id: member.mid,
          from: currentKey,
          to: keys[landing] as string,
          metrics: toMetricsJson(figures, shop.baseCurrency),
        });
      }
    }
  }
  return preview;
}
