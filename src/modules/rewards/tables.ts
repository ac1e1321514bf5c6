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
  /** Changed only for a reward with stock: an unlimited reward's row is never written by a redemption. */
  stock_remaining: number | null;
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
  /** The redemption that added it or took it back. */
  redemption_id: string | null;
  /** The order it was spent on. */
  order_id: string | null;
  reason: string;
  created_at: string;
}

/** Points a shopper put toward a cart: the ledger reservation behind them and what they take off. */
export interface CheckoutPointsTable {
  shop_id: string;
  /** The platform's cart or checkout token. */
  cart_id: string;
  member_id: string;
  /** The ledger reservation holding the points (its status is the checkout's). */
  reservation_id: string;
  points: number;
  /** The cart's currency and the discount the points give in it, in minor units. */
  currency: string;
  discount: number;
  /** The order the points were spent on, once committed. */
  order_id: string | null;
  /** The ledger transaction that spent the points (the hold's commit, or a debit after it ran out). */
  spend_transaction_id: string | null;
  created_at: string;
  updated_at: string;
}

export const refundPolicies = ["keep", "return"] as const;
export type RefundPolicy = (typeof refundPolicies)[number];

/** What the refund policy did with points spent on an order that was cancelled or wholly refunded. */
export interface OrderRewardOutcomesTable {
  shop_id: string;
  id: string;
  order_id: string;
  member_id: string;
  subject_type: "redemption" | "checkout_points";
  /** The redemption id, or the cart id of the checkout points. */
  subject_id: string;
  policy: RefundPolicy;
  /** Points returned (0 when the policy kept them). */
  points: number;
  transaction_id: string | null;
  /** The order.refunded or order.cancelled event that applied the policy. */
  event_id: string | null;
  created_at: string;
}
