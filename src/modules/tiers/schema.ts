import { type Static, Type } from "typebox";
import { PageQuery } from "../../platform/http/pagination.js";
import { maxGraceDays, maxTiers, maxWindowMonths, minTiers } from "./program.js";
import type { TierPreview, TierProgress, TierSummary } from "./queries.js";
import type { StoredProgram } from "./service.js";
import { type TierChangesTable, tierChangeKinds } from "./tables.js";

const Timestamp = Type.String({ format: "date-time" });
const Money = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Minor units (cents for USD)" }),
    currency: Type.String({ pattern: "^[A-Z]{3}$", description: "The shop currency" }),
  },
  { additionalProperties: false },
);
const Points = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });
const Fraction = Type.Object(
  {
    numerator: Type.Integer({ minimum: 1, maximum: 1000 }),
    denominator: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Default 1" })),
  },
  { additionalProperties: false, description: "1.5× is {numerator: 3, denominator: 2}" },
);

const Benefits = Type.Object(
  {
    points_multiplier: Type.Optional(
      Type.Union([Fraction, Type.Null()], {
        description: "Multiplies the points of every earning rule on order.paid events (shown in the explanation)",
      }),
    ),
    discount_percent: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()], { description: "For the storefront" }),
    ),
    free_shipping: Type.Optional(Type.Boolean()),
    priority_shipping: Type.Optional(Type.Boolean()),
    early_access_hours: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 8760 }), Type.Null()])),
    birthday_gift: Type.Optional(
      Type.Union([Type.Object({ points: Points }, { additionalProperties: false }), Type.Null()], {
        description: "Points credited with the member's birthday event, once a year",
      }),
    ),
    exclusive_support: Type.Optional(Type.Boolean()),
    custom: Type.Optional(
      Type.Record(Type.String({ pattern: "^[a-z0-9_]{1,40}$" }), Type.String({ maxLength: 500 }), {
        maxProperties: 20,
        description: "Key/value benefits for the storefront to show",
      }),
    ),
  },
  { additionalProperties: false },
);

const TierBody = Type.Object(
  {
    key: Type.String({
      pattern: "^[a-z0-9_-]{1,40}$",
      description: "Stable key (rule conditions use it: member.tier eq gold)",
    }),
    name: Type.Record(
      Type.String({ pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$" }),
      Type.String({ minLength: 1, maxLength: 100 }),
      {
        maxProperties: 30,
        description: 'Name per locale: {"en": "Gold", "fr": "Or"}',
      },
    ),
    thresholds: Type.Optional(
      Type.Object(
        {
          spend: Type.Optional(Money),
          points: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
          orders: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        },
        {
          additionalProperties: false,
          description: "What qualifies, over the program's window; empty on the first (base) tier",
        },
      ),
    ),
    benefits: Type.Optional(Benefits),
    entry_reward: Type.Optional(
      Type.Union([Type.Object({ points: Points }, { additionalProperties: false }), Type.Null()], {
        description: "Points the first time a member reaches the tier; never twice",
      }),
    ),
  },
  { additionalProperties: false },
);

const Window = Type.Union(
  [
    Type.Object({ type: Type.Literal("lifetime") }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Literal("rolling_months"), months: Type.Integer({ minimum: 1, maximum: maxWindowMonths }) },
      { additionalProperties: false },
    ),
    Type.Object({ type: Type.Literal("calendar_year") }, { additionalProperties: false }),
  ],
  { description: "Whose activity counts: lifetime, the last N months, or the calendar year in the shop time zone" },
);

export const TierProgramBody = Type.Object(
  {
    combine: Type.Optional(
      Type.Union([Type.Literal("any"), Type.Literal("all")], {
        description: "any (default): one threshold of a tier is enough; all: every threshold it sets",
      }),
    ),
    window: Type.Optional(Window),
    min_membership_days: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 3650, description: "Days in the program before any tier above the base" }),
    ),
    grace_days: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: maxGraceDays,
        description: "Days a member found short at re-evaluation keeps the tier to qualify again; default 30",
      }),
    ),
    max_downgrade_steps: Type.Optional(
      Type.Integer({ minimum: 1, maximum: maxTiers - 1, description: "Tiers one downgrade may drop; default 1" }),
    ),
    tiers: Type.Array(TierBody, {
      minItems: minTiers,
      maxItems: maxTiers,
      description: "Lowest first; the first is the base tier every member starts on",
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        window: { type: "rolling_months", months: 12 },
        combine: "any",
        tiers: [
          { key: "member", name: { en: "Member" } },
          {
            key: "silver",
            name: { en: "Silver" },
            thresholds: { spend: { amount: 50000, currency: "USD" }, orders: 5 },
            benefits: { points_multiplier: { numerator: 5, denominator: 4 }, free_shipping: true },
          },
          {
            key: "gold",
            name: { en: "Gold", fr: "Or" },
            thresholds: { spend: { amount: 150000, currency: "USD" }, orders: 12 },
            benefits: { points_multiplier: { numerator: 3, denominator: 2 }, discount_percent: 10 },
            entry_reward: { points: 500 },
          },
        ],
      },
    ],
  },
);
export type TierProgramBody = Static<typeof TierProgramBody>;

const TierResponse = Type.Object({
  key: Type.String(),
  name: Type.Record(Type.String(), Type.String()),
  position: Type.Integer({ description: "0 for the base tier" }),
  thresholds: Type.Object({
    spend: Type.Optional(Type.Object({ amount: Type.Integer(), currency: Type.String() })),
    points: Type.Optional(Type.Integer()),
    orders: Type.Optional(Type.Integer()),
  }),
  benefits: Type.Object({}, { additionalProperties: true }),
  entry_reward: Type.Union([Type.Object({ points: Type.Integer() }), Type.Null()]),
});

const programFields = {
  combine: Type.Union([Type.Literal("any"), Type.Literal("all")]),
  window: Type.Object({}, { additionalProperties: true }),
  min_membership_days: Type.Integer(),
  grace_days: Type.Integer(),
  max_downgrade_steps: Type.Integer(),
  tiers: Type.Array(TierResponse),
};

export const TierProgramResponse = Type.Object({
  object: Type.Literal("tier_program"),
  version: Type.Integer(),
  ...programFields,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const TierProgramVersionResponse = Type.Object({
  object: Type.Literal("tier_program_version"),
  version: Type.Integer(),
  ...programFields,
  actor: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  created_at: Timestamp,
});

export function toProgramJson(stored: StoredProgram) {
  return {
    object: "tier_program" as const,
    version: stored.version,
    ...programJson(stored.program),
    created_at: stored.createdAt,
    updated_at: stored.updatedAt,
  };
}

export function programJson(program: StoredProgram["program"]) {
  return {
    ...program,
    window: program.window as Record<string, unknown>,
    tiers: program.tiers.map((tier, position) => ({
      ...tier,
      position,
      benefits: tier.benefits as unknown as Record<string, unknown>,
    })),
  };
}

const TierSummaryResponse = Type.Object({
  key: Type.String(),
  name: Type.String({ description: "In the member's locale (or ?locale=), else the first given" }),
  names: Type.Record(Type.String(), Type.String()),
  position: Type.Integer(),
  benefits: Type.Object({}, { additionalProperties: true }),
});

const MissingMetric = Type.Object({
  metric: Type.Union([Type.Literal("spend"), Type.Literal("points"), Type.Literal("orders")]),
  needed: Type.Integer({ description: "The threshold (minor units for spend)" }),
  current: Type.Integer(),
  missing: Type.Integer({ description: "How much more is needed; 0 when met" }),
});
const Requirement = {
  metrics: Type.Array(MissingMetric),
  summary: Type.String({ description: 'One English sentence: "$46.00 more or 1 more order"' }),
};

export const TierProgressResponse = Type.Object(
  {
    object: Type.Literal("member_tier"),
    member_id: Type.String(),
    program_version: Type.Integer(),
    tier: TierSummaryResponse,
    since: Type.Union([Timestamp, Type.Null()], { description: "null: on the base tier since joining" }),
    qualified_under_version: Type.Union([Type.Integer(), Type.Null()]),
    reevaluates_at: Type.Union([Timestamp, Type.Null()], {
      description: "When the member must qualify again (the end of the grace period during one)",
    }),
    grace_until: Type.Union([Timestamp, Type.Null()]),
    locked_until: Type.Union([Timestamp, Type.Null()]),
    window: Type.Object({
      type: Type.String(),
      from: Type.Union([Timestamp, Type.Null()]),
      to: Timestamp,
    }),
    metrics: Type.Object({
      spend: Type.Object({ amount: Type.Integer(), currency: Type.String() }),
      points: Type.Integer(),
      orders: Type.Integer(),
    }),
    keep: Type.Union([Type.Object(Requirement), Type.Null()], {
      description: "What keeping the current tier needs at the next re-evaluation; null on the base tier",
    }),
    next_tier: Type.Union([Type.Object({ ...TierSummaryResponse.properties, ...Requirement }), Type.Null()]),
  },
  {
    examples: [
      {
        object: "member_tier",
        member_id: "mem_01JD8X3M6Q2W9V4T7R5Y1K0ZAB",
        program_version: 2,
        tier: {
          key: "silver",
          name: "Silver",
          names: { en: "Silver" },
          position: 1,
          benefits: { free_shipping: true },
        },
        since: "2026-03-02T10:00:00.000Z",
        qualified_under_version: 2,
        reevaluates_at: "2027-03-02T10:00:00.000Z",
        grace_until: null,
        locked_until: null,
        window: { type: "rolling_months", from: "2025-11-23T12:00:00.000Z", to: "2026-11-23T12:00:00.000Z" },
        metrics: { spend: { amount: 145400, currency: "USD" }, points: 1454, orders: 11 },
        keep: {
          metrics: [
            { metric: "spend", needed: 50000, current: 145400, missing: 0 },
            { metric: "orders", needed: 5, current: 11, missing: 0 },
          ],
          summary: "Qualifies now",
        },
        next_tier: {
          key: "gold",
          name: "Gold",
          names: { en: "Gold", fr: "Or" },
          position: 2,
          benefits: { discount_percent: 10 },
          metrics: [
            { metric: "spend", needed: 150000, current: 145400, missing: 4600 },
            { metric: "orders", needed: 12, current: 11, missing: 1 },
          ],
          summary: "$46.00 more or 1 more order",
        },
      },
    ],
  },
);

export function toProgressJson(progress: TierProgress) {
  const summary = (tier: TierSummary) => ({
    ...tier,
    benefits: tier.benefits as unknown as Record<string, unknown>,
  });
  return {
    object: "member_tier" as const,
    member_id: progress.memberId,
    program_version: progress.programVersion,
    tier: summary(progress.tier),
    since: progress.since,
    qualified_under_version: progress.qualifiedUnderVersion,
    reevaluates_at: progress.reevaluatesAt,
    grace_until: progress.graceUntil,
    locked_until: progress.lockedUntil,
    window: progress.window,
    metrics: progress.metrics,
    keep: progress.keep,
    next_tier: progress.next
      ? { ...summary(progress.next), metrics: progress.next.metrics, summary: progress.next.summary }
      : null,
  };
}

export const TierProgressQuery = Type.Object(
  {
    locale: Type.Optional(
      Type.String({ pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description: "Names in this locale" }),
    ),
  },
  { additionalProperties: false },
);

export const AssignTierBody = Type.Object(
  {
    tier: Type.String({ pattern: "^[a-z0-9_-]{1,40}$", description: "The tier's key" }),
    reason: Type.String({ minLength: 1, maxLength: 500, description: "Why; kept in the history" }),
    locked_until: Type.Optional(
      Type.Union([Timestamp, Type.Null()], {
        description: "No downgrade before this moment (upgrades still happen); null or absent: no lock",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ tier: "gold", reason: "Press partner", locked_until: "2027-06-30T00:00:00Z" }],
  },
);

export const TierChangeResponse = Type.Object({
  object: Type.Literal("tier_change"),
  id: Type.String(),
  member_id: Type.String(),
  kind: Type.Enum(tierChangeKinds),
  from: Type.Union([Type.String(), Type.Null()]),
  to: Type.String(),
  reason: Type.String(),
  program_version: Type.Integer(),
  metrics: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  event_id: Type.Union([Type.String(), Type.Null()]),
  actor: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  created_at: Timestamp,
});

export function toTierChangeJson(row: TierChangesTable) {
  return {
    object: "tier_change" as const,
    id: row.id,
    member_id: row.member_id,
    kind: row.kind,
    from: row.from_tier,
    to: row.to_tier,
    reason: row.reason,
    program_version: row.program_version,
    metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as Record<string, unknown>),
    event_id: row.event_id,
    actor: { type: row.actor_type, id: row.actor_id },
    created_at: row.created_at,
  };
}

export const HistoryQuery = PageQuery;

export const PreviewBody = Type.Object(
  {
    program: TierProgramBody,
    sample: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 100, description: "Moves to list" })),
  },
  { additionalProperties: false },
);

export const PreviewResponse = Type.Object({
  object: Type.Literal("tier_preview"),
  members: Type.Integer({ description: "Active members evaluated" }),
  tiers: Type.Array(Type.Object({ key: Type.String(), current: Type.Integer(), projected: Type.Integer() })),
  upgrades: Type.Integer(),
  downgrades: Type.Integer(),
  moves: Type.Array(
    Type.Object({
      member_id: Type.String(),
      from: Type.String(),
      to: Type.String(),
      metrics: Type.Object({}, { additionalProperties: true }),
    }),
  ),
});

export function toPreviewJson(preview: TierPreview) {
  return { object: "tier_preview" as const, ...preview };
}
