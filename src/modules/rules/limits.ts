import type { FieldError } from "../../platform/errors.js";
import { zonedDateTime, zonedDayStart } from "../../platform/zoned-time.js";
import type { LimitPeriod } from "./explain.js";
import { isIntegerIn, isPlainObject, unknownProperties } from "./json.js";

export type { LimitPeriod } from "./explain.js";

export const limitPeriods = ["day", "week", "month", "lifetime"] as const satisfies readonly LimitPeriod[];

/**
 * How much one member may earn from one rule in a period: at most `max_points` points, or at most
 * `max_awards` awards (events that earned points) — exactly one of the two. "Once per member" is
 * `{"period": "lifetime", "max_awards": 1}`.
 */
export type RuleLimit = { period: LimitPeriod; max_points: number } | { period: LimitPeriod; max_awards: number };

/** What the member already earned from the rule in the limit's window (all versions of the rule count). */
export interface LimitUsage {
  points: number;
  awards: number;
}

/**
 * The window a limit counts in that contains `at`: the local calendar day, week (starting on
 * `weekStartsOn`, 0 = Sunday, 1 = Monday) or month in `timeZone`, as UTC instants, start included
 * and end excluded. A local day is 23 or 25 hours long on DST change days. `lifetime` has no bounds.
 */
export function limitWindow(
  period: LimitPeriod,
  at: Date,
  timeZone: string,
  weekStartsOn = 1,
): { start: string | null; end: string | null } {
  if (!Number.isInteger(weekStartsOn) || weekStartsOn < 0 || weekStartsOn > 6) {
    throw new RangeError(`weekStartsOn must be 0 (Sunday) to 6 (Saturday), not ${weekStartsOn}`);
  }
  if (period === "lifetime") {
    return { start: null, end: null };
  }
  const local = zonedDateTime(at, timeZone);
  const bounds = (year: number, month: number, firstDay: number, lastDay: number) => ({
    start: zonedDayStart(year, month, firstDay, timeZone).toISOString(),
    end: zonedDayStart(year, month, lastDay, timeZone).toISOString(),
  });
  if (period === "day") {
    return bounds(local.year, local.month, local.day, local.day + 1);
  }
  if (period === "week") {
    const first = local.day - ((local.weekday - weekStartsOn + 7) % 7);
    return bounds(local.year, local.month, first, first + 7);
  }
  return {
    start: zonedDayStart(local.year, local.month, 1, timeZone).toISOString(),
    end: zonedDayStart(local.year, local.month + 1, 1, timeZone).toISOString(),
  };
}

/**
 * How much of `proposed` a limit lets through, given what the window already holds. A points
 * limit lets through what is left of it; an awards limit lets through all or nothing.
 */
export function applyLimit(input: { limit: RuleLimit; alreadyAwarded: LimitUsage; proposed: number }): {
  awarded: number;
  cutBy: number;
} {
  const { limit, alreadyAwarded, proposed } = input;
  const awarded =
    "max_points" in limit
      ? Math.min(proposed, Math.max(0, limit.max_points - alreadyAwarded.points))
      : alreadyAwarded.awards < limit.max_awards
        ? proposed
        : 0;
  return { awarded, cutBy: proposed - awarded };
}

const maxLimit = 1_000_000_000_000;

/** Every problem of a rule's limits, with pointers from `pointer` (default `/limits`). */
export function validateLimits(json: unknown, pointer = "/limits"): FieldError[] {
  if (!Array.isArray(json) || json.length > 8) {
    return [{ pointer, message: "must be a list of at most 8 limits" }];
  }
  const seen = new Set<string>();
  return json.flatMap((limit, index): FieldError[] => {
    const at = `${pointer}/${index}`;
    if (!isPlainObject(limit)) {
      return [{ pointer: at, message: 'must be a limit such as {"period": "day", "max_points": 500}' }];
    }
    const errors = unknownProperties(limit, ["period", "max_points", "max_awards"], at, "a limit");
    if (!(limitPeriods as readonly unknown[]).includes(limit.period)) {
      errors.push({ pointer: `${at}/period`, message: `must be one of ${limitPeriods.join(", ")}` });
    }
    const kinds = (["max_points", "max_awards"] as const).filter((key) => key in limit);
    const [kind] = kinds;
    if (kind === undefined || kinds.length > 1) {
      errors.push({ pointer: at, message: "must have exactly one of max_points and max_awards" });
    } else if (!isIntegerIn(limit[kind], 1, maxLimit)) {
      errors.push({ pointer: `${at}/${kind}`, message: `must be a whole number from 1 to ${maxLimit}` });
    } else if (seen.has(`${String(limit.period)} ${kind}`)) {
      errors.push({ pointer: at, message: `repeats the ${String(limit.period)} ${kind} limit` });
    } else {
      seen.add(`${String(limit.period)} ${kind}`);
    }
    return errors;
  });
}
