export const rewardTypes = [
  "amount_off",
  "percent_off",
  "free_shipping",
  "free_product",
  "store_credit",
  "custom",
] as const;
export type RewardType = (typeof rewardTypes)[number];

export const rewardStatuses = ["active", "disabled", "archived"] as const;
export type RewardStatus = (typeof rewardStatuses)[number];

export interface RewardsTable {
  shop_id: string;
  id: string;
  status: RewardStatus;
  type: RewardType;
  /** JSON: name per locale. */
  name: string;
  /** JSON: description per locale. */
  description: string;
  image_url: string | null;
  /** JSON: `RewardSettings`. */
  settings: string;
  /** null: unlimited. */
  stock_total: number | null;
  stock_remaining: number | null;
  redeemed: number;
  starts_at: string | null;
  ends_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export const redemptionStatuses = ["issued", "used", "cancelled"] as const;
export type RedemptionStatus = (typeof redemptionStatuses)[number];

export interface RedemptionsTable {
  shop_id: string;
  id: string;
  reward_id: string;
  member_id: string;
  status: RedemptionStatus;
  points: number;
  /** The ledger transaction that spent the points. */
  transaction_id: string;
  /** The ledger transaction that gave them back, when cancelled. */
  refund_transaction_id: string | null;
  /** JSON: what was issued (`IssuedReward`), as it was when redeemed. */
  reward: string;
  code: string | null;
  code_expires_at: string | null;
  /** The order the code was used on. */
  order_id: string | null;
  used_at: string | null;
  cancelled_at: string | null;
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface StoreCreditBalancesTable {
  shop_id: string;
  member_id: string;
  currency: string;
  balance: number;
  updated_at: string;
}

export interface StoreCreditEntriesTable {
  shop_id: string;
  id: string;
  member_id: string;
  currency: string;
  amount: number;
  redemption_id: string | null;
  reason: string;
  created_at: string;
}
