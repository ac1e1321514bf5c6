import { type Static, Type } from "typebox";
import { platformDiscountStatuses } from "../../integrations/tables.js";
import { PageQuery } from "../../platform/http/pagination.js";
import type { Reward } from "./catalog.js";
import { maxCodePrefixLength } from "./catalog.js";
import type { CodeDecision, IssuedReward } from "./codes.js";
import { type RedemptionsTable, redemptionStatuses, rewardStatuses, rewardTypes } from "./tables.js";

const Timestamp = Type.String({ format: "date-time" });
const Money = Type.Object(
  {
    amount: Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: "Minor units (cents, yen, fils)",
    }),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  },
  { additionalProperties: false },
);
const MoneyList = Type.Array(Money, { maxItems: 50 });
const LocaleMap = (description: string) =>
  Type.Record(
    Type.String({ pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$" }),
    Type.String({ minLength: 1, maxLength: 1000 }),
    {
      maxProperties: 30,
      description,
    },
  );
const Points = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });

const Value = Type.Object(
  {
    amounts: Type.Optional({ ...MoneyList, description: "amount_off and store_credit: the amount per currency" }),
    percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "percent_off" })),
    max_amounts: Type.Optional({
      ...MoneyList,
      description: "percent_off: the largest discount per currency; free_shipping: the largest shipping cost covered",
    }),
    variant_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "free_product" })),
    product_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    instructions: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2000, description: "custom: what the merchant does" }),
    ),
  },
  { additionalProperties: false, description: "What the reward gives; the fields its type needs (docs/rewards.md)" },
);

const Cost = Type.Union([
  Type.Object({ type: Type.Literal("fixed"), points: Points }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal("variable"),
      points_per_unit: Points,
      unit: Money,
      min_points: Points,
      max_points: Points,
      step_points: Type.Optional({ ...Points, description: "Default points_per_unit" }),
    },
    {
      additionalProperties: false,
      description: '"100 points = $1": points_per_unit 100, unit {amount: 100, currency: USD}',
    },
  ),
]);

export const RewardBody = Type.Object(
  {
    type: Type.Enum(rewardTypes),
    name: LocaleMap("Name per locale"),
    description: Type.Optional(LocaleMap("Description per locale")),
    image_url: Type.Optional(Type.Union([Type.String({ format: "uri", maxLength: 2000 }), Type.Null()])),
    value: Value,
    cost: Cost,
    min_order: Type.Optional({ ...MoneyList, description: "The smallest cart per currency a code applies to" }),
    eligibility: Type.Optional(
      Type.Object(
        {
          tiers: Type.Optional(
            Type.Union(
              [Type.Array(Type.String({ pattern: "^[a-z0-9_-]{1,40}$" }), { minItems: 1, maxItems: 6 }), Type.Null()],
              {
                description: "Only members of these tiers; null: everyone",
              },
            ),
          ),
          first_redemption_only: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    per_member_limit: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    stock: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), Type.Null()], {
        description: "Units left; null: unlimited",
      }),
    ),
    starts_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
    ends_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
    code: Type.Optional(
      Type.Object(
        {
          prefix: Type.Optional(
            Type.String({ pattern: `^[A-Z0-9-]{0,${maxCodePrefixLength}}$`, description: 'e.g. "VIP-"; default none' }),
          ),
          expires_in_days: Type.Optional(
            Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()], {
              description: "Default 90; null: never",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    enabled: Type.Optional(Type.Boolean({ description: "Default true" })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        type: "amount_off",
        name: { en: "$5 off", fr: "5 $ de réduction" },
        value: {
          amounts: [
            { amount: 500, currency: "USD" },
            { amount: 700, currency: "CAD" },
          ],
        },
        cost: { type: "fixed", points: 500 },
        min_order: [{ amount: 2500, currency: "USD" }],
        per_member_limit: 3,
        code: { prefix: "LAUREL-", expires_in_days: 60 },
      },
    ],
  },
);
export type RewardBody = Static<typeof RewardBody>;

export const RewardResponse = Type.Object({
  object: Type.Literal("reward"),
  id: Type.String(),
  status: Type.Enum(rewardStatuses),
  type: Type.Enum(rewardTypes),
  version: Type.Integer(),
  name: Type.Record(Type.String(), Type.String()),
  description: Type.Record(Type.String(), Type.String()),
  image_url: Type.Union([Type.String(), Type.Null()]),
  value: Type.Object({}, { additionalProperties: true }),
  cost: Type.Object({}, { additionalProperties: true }),
  min_order: Type.Array(Type.Object({ amount: Type.Integer(), currency: Type.String() })),
  eligibility: Type.Object({
    tiers: Type.Union([Type.Array(Type.String()), Type.Null()]),
    first_redemption_only: Type.Boolean(),
  }),
  per_member_limit: Type.Union([Type.Integer(), Type.Null()]),
  stock: Type.Union([Type.Object({ total: Type.Integer(), remaining: Type.Integer() }), Type.Null()]),
  redeemed: Type.Integer({ description: "Redemptions not cancelled" }),
  starts_at: Type.Union([Timestamp, Type.Null()]),
  ends_at: Type.Union([Timestamp, Type.Null()]),
  code: Type.Object({ prefix: Type.String(), expires_in_days: Type.Union([Type.Integer(), Type.Null()]) }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export function toRewardJson(reward: Reward) {
  return {
    object: "reward" as const,
    id: reward.id,
    status: reward.status,
    type: reward.type,
    version: reward.version,
    name: reward.name,
    description: reward.description,
    image_url: reward.imageUrl,
    value: reward.value as unknown as Record<string, unknown>,
    cost: reward.cost as unknown as Record<string, unknown>,
    min_order: reward.min_order,
    eligibility: reward.eligibility,
    per_member_limit: reward.per_member_limit,
    stock: reward.stock,
    redeemed: reward.redeemed,
    starts_at: reward.startsAt,
    ends_at: reward.endsAt,
    code: reward.code,
    created_at: reward.createdAt,
    updated_at: reward.updatedAt,
  };
}

export const RewardParams = Type.Object({ id: Type.String({ maxLength: 100 }) }, { additionalProperties: false });
export const ListRewardsQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(Type.Enum(rewardStatuses, { description: "Default: all but archived" })),
  },
  { additionalProperties: false },
);

export const RedeemBody = Type.Object(
  {
    reward_id: Type.String({ maxLength: 100 }),
    points: Type.Optional({ ...Points, description: "For a variable cost: the points to spend; default its minimum" }),
  },
  { additionalProperties: false, examples: [{ reward_id: "rwd_01JD8X3M6Q2W9V4T7R5Y1K0ZAB" }] },
);

export const RedemptionResponse = Type.Object({
  object: Type.Literal("redemption"),
  id: Type.String(),
  member_id: Type.String(),
  reward_id: Type.String(),
  status: Type.Enum(redemptionStatuses),
  points: Type.Integer(),
  transaction_id: Type.String({ description: "The ledger transaction that spent the points" }),
  refund_transaction_id: Type.Union([Type.String(), Type.Null()]),
  reward: Type.Object({}, { additionalProperties: true, description: "What was issued, as it was when redeemed" }),
  code: Type.Union([Type.String(), Type.Null()], { description: "null for store credit" }),
  code_expires_at: Type.Union([Timestamp, Type.Null()]),
  order_id: Type.Union([Type.String(), Type.Null()]),
  used_at: Type.Union([Timestamp, Type.Null()]),
  cancelled_at: Type.Union([Timestamp, Type.Null()]),
  cancel_reason: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  shopify_discount: Type.Optional(
    Type.Union(
      [
        Type.Object({
          platform: Type.Literal("shopify"),
          status: Type.Enum(platformDiscountStatuses),
          price_rule_id: Type.Union([Type.String(), Type.Null()]),
          discount_code_id: Type.Union([Type.String(), Type.Null()]),
          attempts: Type.Integer(),
          last_error: Type.Union([Type.String(), Type.Null()]),
          next_attempt_at: Type.Union([Timestamp, Type.Null()]),
          updated_at: Timestamp,
        }),
        Type.Null(),
      ],
      {
        description:
          "On single redemptions: the code as a Shopify discount when the shop sends codes there (docs/integrations/shopify-discounts.md); null when it does not",
      },
    ),
  ),
});

export function toRedemptionJson(row: RedemptionsTable) {
  return {
    object: "redemption" as const,
    id: row.id,
    member_id: row.member_id,
    reward_id: row.reward_id,
    status: row.status,
    points: Number(row.points),
    transaction_id: row.transaction_id,
    refund_transaction_id: row.refund_transaction_id,
    reward: JSON.parse(row.reward) as IssuedReward as unknown as Record<string, unknown>,
    code: row.code,
    code_expires_at: row.code_expires_at,
    order_id: row.order_id,
    used_at: row.used_at,
    cancelled_at: row.cancelled_at,
    cancel_reason: row.cancel_reason,
    created_at: row.created_at,
  };
}

export const CancelBody = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description: "Kept with the redemption and the ledger reversal",
    }),
  },
  { additionalProperties: false },
);

const Cart = Type.Object(
  {
    total: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Minor units" }),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  },
  { additionalProperties: false },
);
const Code = Type.String({ minLength: 1, maxLength: 100, description: "Matched without regard to case" });

export const ValidateCodeBody = Type.Object(
  {
    code: Code,
    cart: Cart,
    member_id: Type.Optional(
      Type.String({ maxLength: 100, description: "The shopper, if known: another member's code does not apply" }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ code: "LAUREL-7KQ2-XM4T-9PWA", cart: { total: 4999, currency: "USD" } }],
  },
);
export const ConsumeCodeBody = Type.Object(
  {
    code: Code,
    order_id: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "The same order again is a retry: the first answer",
    }),
    cart: Cart,
    member_id: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);
export const ReleaseCodeBody = Type.Object(
  { code: Code, order_id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

const MoneyResponse = Type.Object({ amount: Type.Integer(), currency: Type.String() });
export const CodeResponse = Type.Object({
  object: Type.Literal("code_check"),
  code: Type.String(),
  redemption_id: Type.String(),
  member_id: Type.String(),
  status: Type.Enum(redemptionStatuses),
  applies: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()], { description: "Why it does not apply" }),
  type: Type.Enum(rewardTypes),
  discount: Type.Union([MoneyResponse, Type.Null()], { description: "The amount off the cart, in its currency" }),
  free_shipping: Type.Union([Type.Object({ max_amount: Type.Union([MoneyResponse, Type.Null()]) }), Type.Null()]),
  free_product: Type.Union([
    Type.Object({ variant_id: Type.String(), product_id: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
  instructions: Type.Union([Type.String(), Type.Null()]),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  order_id: Type.Union([Type.String(), Type.Null()]),
  replayed: Type.Boolean({ description: "consume: the code was already used on this order" }),
});

export function toCodeJson(row: RedemptionsTable, decision: CodeDecision, replayed = false) {
  const issued = JSON.parse(row.reward) as IssuedReward;
  return {
    object: "code_check" as const,
    code: row.code as string,
    redemption_id: row.id,
    member_id: row.member_id,
    status: row.status,
    applies: decision.applies,
    reason: decision.reason,
    type: issued.type,
    discount: decision.discount,
    free_shipping: decision.free_shipping,
    free_product: decision.free_product,
    instructions: decision.instructions,
    expires_at: row.code_expires_at,
    order_id: row.order_id,
    replayed,
  };
}

export const StorefrontRewardResponse = Type.Object({
  ...RewardResponse.properties,
  affordable: Type.Boolean({ description: "The member has the points (the minimum, for a variable cost)" }),
  eligible: Type.Boolean({ description: "Tier, first-redemption, per-member limit and stock allow it" }),
  ineligible_reason: Type.Union([Type.String(), Type.Null()]),
  points_needed: Type.Integer({ description: "Points still missing; 0 when affordable" }),
});
