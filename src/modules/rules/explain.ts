/*
 * The explanation stored with every evaluation and shown by the rules preview: which rules matched,
 * what each contributed, which multipliers applied and which limits cut it — so "why did I get
 * 130 points" always has an answer. Fields are snake_case: this is public JSON.
 */

export type LimitPeriod = "day" | "week" | "month" | "lifetime";

export interface MultiplierLine {
  label: string | null;
  numerator: number;
  denominator: number;
  applied: boolean;
  /** Why a conditional multiplier did not apply. */
  reason: string | null;
}

/**
 * One limit that took points away. `per_event` is the rule's own cap on one event; the periods
 * are per member and rule, in the shop time zone.
 */
export interface LimitCut {
  limit: "per_event" | LimitPeriod;
  /** The limit as configured: at most this many points, or this many awards, in the period. */
  max_points: number | null;
  max_awards: number | null;
  /** Points this limit removed. */
  cut: number;
}

export interface RuleExplanation {
  rule_id: string;
  version: number;
  name: string | null;
  matched: boolean;
  /** Why the rule did not apply (null when it matched). */
  reason: string | null;
  /** Points from the reward before multipliers and limits. */
  base: number;
  /** How the base was worked out: "10 points per 1.00 USD on a subtotal of 19.99 USD, rounded down". */
  base_detail: string | null;
  multipliers: MultiplierLine[];
  /** Points after multipliers, before limits. */
  multiplied: number;
  limit_cuts: LimitCut[];
  awarded: number;
}

export interface Explanation {
  rules: RuleExplanation[];
  totals: {
    matched_rules: number;
    base: number;
    multiplied: number;
    cut: number;
    awarded: number;
  };
}

/** The explanation of a set of rules, with their totals. */
export function explain(rules: RuleExplanation[]): Explanation {
  const sum = (pick: (rule: RuleExplanation) => number) => rules.reduce((total, rule) => total + pick(rule), 0);
  return {
    rules,
    totals: {
      matched_rules: rules.filter((rule) => rule.matched).length,
      base: sum((rule) => rule.base),
      multiplied: sum((rule) => rule.multiplied),
      cut: sum((rule) => rule.limit_cuts.reduce((total, cut) => total + cut.cut, 0)),
      awarded: sum((rule) => rule.awarded),
    },
  };
}

function points(count: number): string {
  return `${count} ${count === 1 ? "point" : "points"}`;
}

function ratio(line: MultiplierLine): string {
  return line.denominator === 1 ? `×${line.numerator}` : `×${line.numerator}/${line.denominator}`;
}

const periodWords: Record<LimitPeriod, string> = {
  day: "daily",
  week: "weekly",
  month: "monthly",
  lifetime: "lifetime",
};

function describeCut(cut: LimitCut): string {
  if (cut.limit === "per_event") {
    return `the cap of ${points(cut.max_points ?? 0)} per event cut ${cut.cut}`;
  }
  const allowance =
    cut.max_awards === null
      ? points(cut.max_points ?? 0)
      : `${cut.max_awards} ${cut.max_awards === 1 ? "award" : "awards"}`;
  return `the ${periodWords[cut.limit]} limit of ${allowance} cut ${cut.cut}`;
}

/**
 * One English sentence per rule for admin screens:
 * `"Spend & earn" (v3) gave 130 points: 65 base (10 points per 1.00 USD on a subtotal of 6.50 USD), ×2 Birthday.`
 */
export function describeRuleExplanation(rule: RuleExplanation): string {
  const title = `"${rule.name ?? rule.rule_id}" (v${rule.version})`;
  if (!rule.matched) {
    return `${title} did not apply: ${rule.reason ?? "its conditions did not hold"}.`;
  }
  const parts = [`${rule.base} base${rule.base_detail === null ? "" : ` (${rule.base_detail})`}`];
  for (const line of rule.multipliers.filter((multiplier) => multiplier.applied)) {
    parts.push(line.label === null ? ratio(line) : `${ratio(line)} ${line.label}`);
  }
  const cuts = rule.limit_cuts.map(describeCut);
  const outcome = rule.awarded === 0 && cuts.length > 0 ? "matched but gave no points" : `gave ${points(rule.awarded)}`;
  return `${title} ${outcome}: ${parts.join(", ")}${cuts.length === 0 ? "" : `; ${cuts.join("; ")}`}.`;
}
