export type RuleStatus = "active" | "disabled" | "archived";

/** The current version of an earning rule. */
export interface EarningRulesTable {
  shop_id: string;
  id: string;
  status: RuleStatus;
  version: number;
  name: string;
  event_type: string;
  /** JSON: conditions, reward, multipliers, max_points_per_event, limits, pending_days, expiry_months. */
  definition: string;
  created_at: string;
  updated_at: string;
}

/** Every version of every rule, as saved (status changes make a version too). */
export interface EarningRuleVersionsTable {
  shop_id: string;
  rule_id: string;
  version: number;
  status: RuleStatus;
  name: string;
  event_type: string;
  definition: string;
  created_at: string;
}
