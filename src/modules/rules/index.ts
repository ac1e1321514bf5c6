export {
  type Condition,
  type ConditionField,
  type ConditionOperator,
  type ConditionTrace,
  conditionFields,
  conditionOperators,
  describeCondition,
  type EvaluationContext,
  evaluateConditions,
  type OrderFacts,
  type Predicate,
  validateConditions,
} from "./conditions.js";
export {
  evaluateRule,
  evaluateRules,
  type RuleDefinition,
  type RuleUsage,
  validateRule,
} from "./evaluate.js";
export {
  describeRuleExplanation,
  type Explanation,
  explain,
  type LimitCut,
  type MultiplierLine,
  type RuleExplanation,
} from "./explain.js";
export {
  applyLimit,
  type LimitPeriod,
  type LimitUsage,
  limitWindow,
  type RuleLimit,
  validateLimits,
} from "./limits.js";
export { formatMoney, type Money } from "./money.js";
export {
  computeReward,
  type Multiplier,
  maxPointsPerAward,
  type Reward,
  type Rounding,
  validateMultipliers,
  validateReward,
} from "./rewards.js";
