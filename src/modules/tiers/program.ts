import type { FieldError } from "../../platform/errors.js";
import { canonicalLocale } from "../../platform/intl.js";
import type { Money } from "../rules/index.js";

export const minTiers = 2;
export const maxTiers = 6;
export const maxGraceDays = 365;
export const maxWindowMonths = 60;

export type TierWindow = { type: "lifetime" } | { type: "rolling_months"; months: number } | { type: "calendar_year" };

export interface Fraction {
  numerator: number;
  denominator: number;
}

/** What a tier gives; the storefront shows them, Laurel applies the multiplier and the gifts. */
export interface TierBenefits {
  /** Applied by earning rules on order.paid events, beside the rule's own multipliers. */
  points_multiplier: Fraction | null;
  discount_percent: number | null;
  free_shipping: boolean;
  priority_shipping: boolean;
  early_access_hours: number | null;
  /** Points given on the member's birthday event, once a year. */
  birthday_gift: { points: number } | null;
  exclusive_support: boolean;
  custom: Record<string, string>;
}

export interface TierThresholds {
  /** Spend in the shop currency, net of refunds and cancellations. */
  spend?: Money | undefined;
  /** Points earned by earning rules, less what refunds took back. */
  points?: number | undefined;
  /** Orders paid and not wholly refunded or cancelled. */
  orders?: number | undefined;
}

export interface Tier {
  key: string;
  /** Name per locale (BCP 47), e.g. {"en": "Gold", "fr": "Or"}. */
  name: Record<string, string>;
  thresholds: TierThresholds;
  benefits: TierBenefits;
  /** Points given the first time a member reaches the tier; never twice for one tier. */
  entry_reward: { points: number } | null;
}

/** A shop's tier program: ordered tiers, lowest (the base every member starts on) first. */
export interface TierProgram {
  /** any: one threshold of a tier is enough; all: every threshold the tier sets. */
  combine: "any" | "all";
  window: TierWindow;
  /** Days a member must have been in the program before any tier above the base. */
  min_membership_days: number;
  /** Days a member found short at re-evaluation keeps the tier to qualify again. */
  grace_days: number;
  /** Tiers one downgrade may drop at most. */
  max_downgrade_steps: number;
  tiers: Tier[];
}

export const metricNames = ["spend", "points", "orders"] as const;
export type MetricName = (typeof metricNames)[number];

type DraftFraction = { numerator: number; denominator?: number | undefined };

/** A draft as sent: benefits and most settings may be left out and take their defaults. */
export interface TierProgramDraft {
  combine?: "any" | "all" | undefined;
  window?: TierWindow | undefined;
  min_membership_days?: number | undefined;
  grace_days?: number | undefined;
  max_downgrade_steps?: number | undefined;
  tiers: Array<{
    key: string;
    name: Record<string, string>;
    thresholds?: TierThresholds | undefined;
    benefits?:
      | (Partial<Omit<TierBenefits, "points_multiplier">> & { points_multiplier?: DraftFraction | null })
      | undefined;
    entry_reward?: { points: number } | null | undefined;
  }>;
}

export const defaultBenefits: TierBenefits = {
  points_multiplier: null,
  discount_percent: null,
  free_shipping: false,
  priority_shipping: false,
  early_access_hours: null,
  birthday_gift: null,
  exclusive_support: false,
  custom: {},
};

/** The draft with its defaults filled in, and every problem the schema cannot see, by JSON pointer. */
export function normalizeProgram(
  draft: TierProgramDraft,
  shopCurrency: string,
  pointer = "/body",
): { program: TierProgram; errors: FieldError[] } {
  const program: TierProgram = {
    combine: draft.combine ?? "any",
    window: draft.window ?? { type: "rolling_months", months: 12 },
    min_membership_days: draft.min_membership_days ?? 0,
    grace_days: draft.grace_days ?? 30,
    max_downgrade_steps: draft.max_downgrade_steps ?? 1,
    tiers: draft.tiers.map((tier) => {
      const multiplier = tier.benefits?.points_multiplier;
      return {
        key: tier.key,
        name: tier.name,
        thresholds: tier.thresholds ?? {},
        benefits: {
          ...defaultBenefits,
          ...tier.benefits,
          points_multiplier: multiplier
            ? { numerator: multiplier.numerator, denominator: multiplier.denominator ?? 1 }
            : null,
        },
        entry_reward: tier.entry_reward ?? null,
      };
    }),
  };
  const errors: FieldError[] = [];
  // Locale tags are case-insensitive: names are kept under the canonical tag (fr-CA), so any
  // spelling of it finds them.
  program.tiers.forEach((tier, index) => {
    const names: Record<string, string> = {};
    for (const [tag, name] of Object.entries(tier.name)) {
      const canonical = canonicalLocale(tag);
      if (canonical === undefined) {
        errors.push({ pointer: `${pointer}/tiers/${index}/name/${tag}`, message: "is not a valid locale tag" });
      } else {
        names[canonical] = name;
      }
    }
    tier.name = names;
  });
  const seen = new Set<string>();
  program.tiers.forEach((tier, index) => {
    const at = `${pointer}/tiers/${index}`;
    if (seen.has(tier.key)) errors.push({ pointer: `${at}/key`, message: `repeats the key ${tier.key}` });
    seen.add(tier.key);
    if (Object.keys(tier.name).length === 0) {
      errors.push({ pointer: `${at}/name`, message: 'needs a name in at least one locale, e.g. {"en": "Gold"}' });
    }
    const defined = metricNames.filter((metric) => tier.thresholds[metric] !== undefined);
    if (index === 0 && defined.length > 0) {
      errors.push({
        pointer: `${at}/thresholds`,
        message: "must be empty: the first tier is the base every member starts on",
      });
    }
    if (index > 0 && defined.length === 0) {
      errors.push({ pointer: `${at}/thresholds`, message: "needs at least one of spend, points or orders" });
    }
    const spend = tier.thresholds.spend;
    if (spend && spend.currency !== shopCurrency) {
      errors.push({ pointer: `${at}/thresholds/spend/currency`, message: `must be the shop currency ${shopCurrency}` });
    }
    // A higher tier asks at least as much as a lower one, metric by metric, or the order means nothing.
    for (const metric of defined) {
      for (let lower = index - 1; lower >= 1; lower--) {
        const below = thresholdValue(program.tiers[lower] as Tier, metric);
        if (below !== null && (thresholdValue(tier, metric) as number) < below) {
          errors.push({
            pointer: `${at}/thresholds/${metric}`,
            message: `must be at least the ${metric} of the lower tier ${program.tiers[lower]?.key}`,
          });
          break;
        }
      }
    }
  });
  if (program.max_downgrade_steps > program.tiers.length - 1) {
    errors.push({
      pointer: `${pointer}/max_downgrade_steps`,
      message: `must be at most ${program.tiers.length - 1}, the number of tiers above the base`,
    });
  }
  return { program, errors };
}

export function thresholdValue(tier: Tier, metric: MetricName): number | null {
  const value = tier.thresholds[metric];
  if (value === undefined) return null;
  return typeof value === "number" ? value : value.amount;
}

/** The tier's name in the locale, else its language, else the first one given. */
export function tierName(tier: Tier, requested: string | null | undefined): string {
  const locale = requested ? canonicalLocale(requested) : undefined;
  if (locale) {
    if (tier.name[locale]) return tier.name[locale];
    const language = locale.split("-")[0] as string;
    if (tier.name[language]) return tier.name[language];
  }
  return Object.values(tier.name)[0] ?? tier.key;
}
