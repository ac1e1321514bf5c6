import { addMonths } from "../../platform/clock.js";
import { zonedDateTime, zonedDayStart } from "../../platform/zoned-time.js";
import type { MemberActivity } from "../events/activity.js";
import { formatMoney } from "../rules/index.js";
import { type MetricName, metricNames, type Tier, type TierProgram, thresholdValue } from "./program.js";

const msPerDay = 24 * 60 * 60 * 1000;

/** Months between two re-evaluations of a member on a lifetime or rolling window: the anniversary. */
export const anniversaryMonths = 12;

/** The stretch of time whose activity qualifies a member at `at`: it ends at `at`. */
export function qualificationWindow(
  program: TierProgram,
  at: Date,
  timeZone: string,
): { from: string | null; to: string } {
  const to = at.toISOString();
  switch (program.window.type) {
    case "lifetime":
      return { from: null, to };
    case "rolling_months":
      return { from: addMonths(to, -program.window.months), to };
    case "calendar_year": {
      // The year the last moment before `at` belongs to, so a re-evaluation at midnight on
      // 1 January looks at the year that just ended.
      const year = zonedDateTime(new Date(at.getTime() - 1), timeZone).year;
      return { from: zonedDayStart(year, 1, 1, timeZone).toISOString(), to };
    }
  }
}

/** When a member who reached (or kept) a tier at `from` must qualify again. */
export function nextPeriodEnd(program: TierProgram, from: Date, timeZone: string): string {
  if (program.window.type === "calendar_year") {
    const year = zonedDateTime(from, timeZone).year;
    return zonedDayStart(year + 1, 1, 1, timeZone).toISOString();
  }
  return addMonths(from.toISOString(), anniversaryMonths);
}

function metricValue(activity: MemberActivity, metric: MetricName): number {
  return activity[metric];
}

/** Whether the activity reaches the tier's thresholds, combined as the program says. */
export function meetsThresholds(program: TierProgram, tier: Tier, activity: MemberActivity): boolean {
  const checks = metricNames
    .map((metric) => {
      const needed = thresholdValue(tier, metric);
      return needed === null ? null : metricValue(activity, metric) >= needed;
    })
    .filter((check): check is boolean => check !== null);
  if (checks.length === 0) return true;
  return program.combine === "all" ? checks.every(Boolean) : checks.some(Boolean);
}

/**
 * The highest tier the member qualifies for at `at`: its thresholds are met and, above the base,
 * the member has been in the program long enough.
 */
export function qualifiedTierIndex(
  program: TierProgram,
  activity: MemberActivity,
  memberSince: string,
  at: Date,
): number {
  const longEnough = at.getTime() - Date.parse(memberSince) >= program.min_membership_days * msPerDay;
  for (let index = program.tiers.length - 1; index > 0; index--) {
    if (longEnough && meetsThresholds(program, program.tiers[index] as Tier, activity)) return index;
  }
  return 0;
}

/** What a re-evaluation that finds the member qualifying for `qualified` does from `current`. */
export function downgradeTarget(program: TierProgram, current: number, qualified: number): number {
  return Math.max(qualified, current - program.max_downgrade_steps);
}

export interface MissingMetric {
  metric: MetricName;
  /** How much more is needed: minor units for spend, else a count. */
  missing: number;
  needed: number;
  current: number;
}

/** Per threshold of the tier, what the activity still lacks (0 when met), and one sentence. */
export function missingFor(
  program: TierProgram,
  tier: Tier,
  activity: MemberActivity,
  currency: string,
): { metrics: MissingMetric[]; summary: string } {
  const metrics: MissingMetric[] = [];
  for (const metric of metricNames) {
    const needed = thresholdValue(tier, metric);
    if (needed === null) continue;
    const current = metricValue(activity, metric);
    metrics.push({ metric, needed, current, missing: Math.max(0, needed - current) });
  }
  const short = metrics.filter((item) => item.missing > 0);
  if (short.length === 0 || (program.combine === "any" && short.length < metrics.length)) {
    return { metrics, summary: "Qualifies now" };
  }
  const phrases = short.map((item) => describeMissing(item, currency));
  return { metrics, summary: phrases.join(program.combine === "any" ? " or " : " and ") };
}

function describeMissing(item: MissingMetric, currency: string): string {
  switch (item.metric) {
    case "spend":
      return `${formatCurrency({ amount: item.missing, currency })} more`;
    case "orders":
      return `${item.missing} more ${item.missing === 1 ? "order" : "orders"}`;
    case "points":
      return `${item.missing} more ${item.missing === 1 ? "point" : "points"}`;
  }
}

/** "$46.00", "¥1,980": the exact minor units written as a decimal string, so no float is involved. */
export function formatCurrency(money: { amount: number; currency: string }, locale = "en"): string {
  const [decimal] = formatMoney(money).split(" ");
  return currencyFormat(locale, money.currency).format(decimal as Intl.StringNumericLiteral);
}

// Making a NumberFormat costs tens of microseconds, more than a sweep spends on a member.
const formats = new Map<string, Intl.NumberFormat>();

function currencyFormat(locale: string, currency: string): Intl.NumberFormat {
  const key = `${locale}|${currency}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: "currency", currency });
    formats.set(key, format);
  }
  return format;
}
