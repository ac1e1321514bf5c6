import type { FieldError } from "../../platform/errors.js";
import { type Condition, type EvaluationContext, evaluateConditions, validateConditions } from "./conditions.js";
import { type Explanation, explain, type LimitCut, type LimitPeriod, type RuleExplanation } from "./explain.js";
import { isIntegerIn, isPlainObject } from "./json.js";
import { applyLimit, type LimitUsage, type RuleLimit, validateLimits } from "./limits.js";
import {
  computeReward,
  type Multiplier,
  maxPointsPerAward,
  type Reward,
  validateMultipliers,
  validateReward,
} from "./rewards.js";

/** The part of an earning rule that decides points, as stored (one version of it). */
export interface RuleDefinition {
  id: string;
  version: number;
  name?: string | null;
  /** The event type that triggers the rule: order.paid, review.created, social.followed, birthday... */
  event_type: string;
  conditions?: Condition | null;
  reward: Reward;
  multipliers?: Multiplier[];
  max_points_per_event?: number | null;
  limits?: RuleLimit[];
}

/** What one member already earned from one rule, per period, in the windows `limitWindow` gives for the event. */
export type RuleUsage = Partial<Record<LimitPeriod, LimitUsage>>;

const eventTypePattern = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

/**
 * Every problem of the rule-language part of a rule body (`event_type`, `conditions`, `reward`,
 * `multipliers`, `max_points_per_event`, `limits`), with pointers from the body's root. Other
 * properties (name, status, pending days...) belong to the API schema and are not looked at.
 */
export function validateRule(json: unknown, options: { currency?: string } = {}): FieldError[] {
  if (!isPlainObject(json)) {
    return [{ pointer: "", message: "must be a rule object" }];
  }
  const errors: FieldError[] = [];
  if (typeof json.event_type !== "string" || json.event_type.length > 100 || !eventTypePattern.test(json.event_type)) {
    errors.push({ pointer: "/event_type", message: "must be an event type such as order.paid or review.created" });
  }
  if (json.conditions !== undefined && json.conditions !== null) {
    errors.push(...validateConditions(json.conditions, { pointer: "/conditions", ...options }));
  }
  errors.push(...validateReward(json.reward, { pointer: "/reward", ...options }));
  if (json.multipliers !== undefined) {
    errors.push(...validateMultipliers(json.multipliers, { pointer: "/multipliers", ...options }));
  }
  const cap = json.max_points_per_event;
  if (cap !== undefined && cap !== null && !isIntegerIn(cap, 1, maxPointsPerAward)) {
    errors.push({ pointer: "/max_points_per_event", message: `must be a whole number from 1 to ${maxPointsPerAward}` });
  }
  if (json.limits !== undefined) {
    errors.push(...validateLimits(json.limits, "/limits"));
  }
  return errors;
}

function unmatched(rule: RuleDefinition, reason: string): RuleExplanation {
  return {
    rule_id: rule.id,
    version: rule.version,
    name: rule.name ?? null,
    matched: false,
    reason,
    base: 0,
    base_detail: null,
    multipliers: [],
    multiplied: 0,
    limit_cuts: [],
    awarded: 0,
  };
}

/**
 * One validated rule against one event: trigger, conditions, reward, multipliers, the per-event
 * cap, then the period limits in the order the rule lists them, each taking from what is left.
 */
export function evaluateRule(rule: RuleDefinition, context: EvaluationContext, usage: RuleUsage = {}): RuleExplanation {
  if (context.event.type !== rule.event_type) {
    return unmatched(rule, `the rule runs on ${rule.event_type} events, and this is ${context.event.type}`);
  }
  const conditions = evaluateConditions(rule.conditions ?? null, context);
  if (!conditions.matched) {
    return unmatched(rule, conditions.trace.reason ?? "its conditions did not hold");
  }
  const reward = computeReward(
    { reward: rule.reward, multipliers: rule.multipliers, maxPointsPerEvent: rule.max_points_per_event },
    context,
  );
  const cuts: LimitCut[] = reward.cut === null ? [] : [reward.cut];
  let awarded = reward.points;
  for (const limit of rule.limits ?? []) {
    const result = applyLimit({
      limit,
      alreadyAwarded: usage[limit.period] ?? { points: 0, awards: 0 },
      proposed: awarded,
    });
    if (result.cutBy > 0) {
      cuts.push({
        limit: limit.period,
        max_points: "max_points" in limit ? limit.max_points : null,
        max_awards: "max_awards" in limit ? limit.max_awards : null,
        cut: result.cutBy,
      });
    }
    awarded = result.awarded;
  }
  return {
    rule_id: rule.id,
    version: rule.version,
    name: rule.name ?? null,
    matched: true,
    reason: null,
    base: reward.base,
    base_detail: reward.baseDetail,
    multipliers: reward.multipliers,
    multiplied: reward.multiplied,
    limit_cuts: cuts,
    awarded,
  };
}

/** Every rule against one event, with totals; `usage` is keyed by rule id. Writes nothing: the preview calls it as is. */
export function evaluateRules(
  rules: readonly RuleDefinition[],
  context: EvaluationContext,
  usage: Readonly<Record<string, RuleUsage>> = {},
): Explanation {
  return explain(rules.map((rule) => evaluateRule(rule, context, usage[rule.id])));
}
