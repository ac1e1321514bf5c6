import { Type } from "typebox";
import type { Shop } from "./repository.js";

const refundPolicyDescription =
  "Points a member spent on an order (a reward code used on it, or points at checkout) when the order is cancelled or wholly refunded: keep (default) leaves them spent; return gives them back. Each decision is recorded (docs/rewards.md).";

const allowNegativeBalanceDescription =
  "When a refund takes back points the member has already spent, the shortfall is recorded as points owed (debt) that later earnings repay first. With true, the member's balance is shown below zero while they owe points; with false (default) it is shown as 0 and the debt separately.";

export const ShopResponse = Type.Object(
  {
    id: Type.String({ examples: ["shop_01JD3M8Q6V9KX2T4R7B5N0CZHE"] }),
    object: Type.Literal("shop"),
    name: Type.String({ examples: ["Kestrel Coffee"] }),
    base_currency: Type.String({ description: "ISO 4217 code of the shop's currency", examples: ["EUR"] }),
    timezone: Type.String({
      description: "IANA time zone for days, birthdays and periods",
      examples: ["Europe/Berlin"],
    }),
    default_locale: Type.String({ description: "BCP 47 tag for members without their own", examples: ["de-DE"] }),
    redemption_rate: Type.Object(
      {
        points: Type.Integer({ examples: [100] }),
        amount: Type.Integer({ description: "Minor units of the base currency", examples: [100] }),
        currency: Type.String({ examples: ["EUR"] }),
        is_default: Type.Boolean({ description: "True until the shop sets its own rate" }),
      },
      {
        description:
          "What points are worth: `points` points = `amount` minor units of `currency`. Values the points liability. Defaults to 100 points = 1 unit (1 point = 1 unit for currencies without minor units, like JPY).",
      },
    ),
    enrollment_mode: Type.Union([Type.Literal("auto"), Type.Literal("opt_in")], {
      description:
        "auto: every customer Laurel hears of becomes an active member; opt_in: customers are guests until they join",
    }),
    default_country: Type.Union([Type.String(), Type.Null()], {
      description: "ISO 3166-1 alpha-2: the region local phone numbers are read in (null: international numbers only)",
      examples: ["DE"],
    }),
    allow_negative_balance: Type.Boolean({ description: allowNegativeBalanceDescription, examples: [false] }),
    redeemed_points_on_refund: Type.Union([Type.Literal("keep"), Type.Literal("return")], {
      description: refundPolicyDescription,
    }),
    created_at: Type.String({ format: "date-time" }),
    updated_at: Type.String({ format: "date-time" }),
  },
  { $id: "Shop" },
);

export const UpdateShopBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    base_currency: Type.Optional(Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217 code" })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "IANA time zone" })),
    default_locale: Type.Optional(Type.String({ minLength: 2, maxLength: 35, description: "BCP 47 tag" })),
    enrollment_mode: Type.Optional(Type.Union([Type.Literal("auto"), Type.Literal("opt_in")])),
    default_country: Type.Optional(
      Type.Union([Type.String({ pattern: "^[A-Z]{2}$" }), Type.Null()], { description: "ISO 3166-1 alpha-2" }),
    ),
    allow_negative_balance: Type.Optional(Type.Boolean({ description: allowNegativeBalanceDescription })),
    redeemed_points_on_refund: Type.Optional(
      Type.Union([Type.Literal("keep"), Type.Literal("return")], { description: refundPolicyDescription }),
    ),
    redemption_rate: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              points: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
              amount: Type.Integer({
                minimum: 1,
                maximum: 1_000_000_000,
                description: "Minor units of the base currency",
              }),
            },
            { additionalProperties: false },
          ),
          Type.Null(),
        ],
        {
          description:
            "`points` points are worth `amount` minor units of the base currency; null returns to the default. Changing base_currency without a rate resets it to the default.",
        },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ name: "Kestrel Coffee", timezone: "Europe/Berlin" }] },
);

export function toShopResponse(shop: Shop) {
  return {
    id: shop.id,
    object: "shop" as const,
    name: shop.name,
    base_currency: shop.baseCurrency,
    timezone: shop.timezone,
    default_locale: shop.defaultLocale,
    redemption_rate: {
      points: shop.redemptionRate.points,
      amount: shop.redemptionRate.amount,
      currency: shop.baseCurrency,
      is_default: shop.redemptionRate.isDefault,
    },
    enrollment_mode: shop.enrollmentMode,
    default_country: shop.defaultCountry,
    allow_negative_balance: shop.allowNegativeBalance,
    redeemed_points_on_refund: shop.redeemedPointsOnRefund,
    created_at: shop.createdAt,
    updated_at: shop.updatedAt,
  };
}
