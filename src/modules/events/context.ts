import type { Kysely } from "kysely";
import { flushInserts } from "../../platform/db/insert-buffer.js";
import type { Database } from "../../platform/db/schema.js";
import { invalidField } from "../../platform/errors.js";
import { zonedDateTime } from "../../platform/zoned-time.js";
import { convertToShopCurrency } from "../exchange-rates/index.js";
import type { MembersTable } from "../members/tables.js";
import type { EvaluationContext, OrderFacts, RuleUsage } from "../rules/index.js";
import { limitWindow } from "../rules/index.js";
import type { ActiveRule } from "../rules/service.js";
import type { Shop } from "../shops/index.js";
import { memberTierState, type StoredProgram } from "../tiers/index.js";
import type { EventBody } from "./schema.js";

/** How an order's amounts came to be in the shop currency: shown in the explanation. */
export interface OrderAmounts {
  currency: string;
  total: number;
  subtotal: number;
  shop_currency: string;
  /** null when Laurel had no way to convert (no platform amounts, no exchange rate). */
  shop_total: number | null;
  shop_subtotal: number | null;
  conversion: "same_currency" | "platform" | "exchange_rate" | "no_rate";
  rate: string | null;
}

/**
 * The order's amounts in the shop currency: as the platform converted them (`shop_money`), else
 * with the shop's exchange-rate table. The points are decided on these, never on the shopper's currency.
 */
export async function orderAmounts(
  db: Kysely<Database>,
  shop: Shop,
  order: NonNullable<EventBody["order"]>,
  pointer: string,
): Promise<OrderAmounts> {
  if (order.currency === undefined || order.total === undefined) {
    throw invalidField(`${pointer}/order`, "needs currency and total for an order.paid event");
  }
  const subtotal = order.subtotal ?? order.total;
  if (subtotal > order.total) throw invalidField(`${pointer}/order/subtotal`, "must not exceed the total");
  const base = { currency: order.currency, total: order.total, subtotal, shop_currency: shop.baseCurrency };
  if (order.currency === shop.baseCurrency) {
    return { ...base, shop_total: order.total, shop_subtotal: subtotal, conversion: "same_currency", rate: null };
  }
  if (order.shop_money) {
    if (order.shop_money.currency !== shop.baseCurrency) {
      throw invalidField(`${pointer}/order/shop_money/currency`, `must be the shop currency ${shop.baseCurrency}`);
    }
    const shopSubtotal = order.shop_money.subtotal ?? order.shop_money.total;
    return {
      ...base,
      shop_total: order.shop_money.total,
      shop_subtotal: Math.min(shopSubtotal, order.shop_money.total),
      conversion: "platform",
      rate: null,
    };
  }
  const total = await convertToShopCurrency(db, shop.id, shop.baseCurrency, {
    amount: order.total,
    currency: order.currency,
  });
  const converted = await convertToShopCurrency(db, shop.id, shop.baseCurrency, {
    amount: subtotal,
    currency: order.currency,
  });
  if (total === null || converted === null) {
    return { ...base, shop_total: null, shop_subtotal: null, conversion: "no_rate", rate: null };
  }
  return {
    ...base,
    shop_total: total.amount,
    shop_subtotal: converted.amount,
    conversion: "exchange_rate",
    rate: total.rate,
  };
}

export function orderFacts(
  order: NonNullable<EventBody["order"]>,
  amounts: OrderAmounts,
  isFirstOrder: boolean,
): OrderFacts {
  return {
    subtotal: { amount: amounts.shop_subtotal ?? 0, currency: amounts.shop_currency },
    total: { amount: amounts.shop_total ?? 0, currency: amounts.shop_currency },
    currency: amounts.currency,
    productIds: order.product_ids ?? [],
    productTags: order.product_tags ?? [],
    collections: order.collections ?? [],
    channel: order.channel ?? null,
    country: order.country ?? null,
    isFirstOrder,
  };
}

/**
 * Whether the event falls on the member's birthday in the shop time zone. A 29 February birthday
 * is celebrated on 28 February in other years.
 */
export function isBirthday(member: Pick<MembersTable, "birthday_month" | "birthday_day">, at: Date, timeZone: string) {
  if (member.birthday_month === null || member.birthday_day === null) return false;
  const local = zonedDateTime(at, timeZone);
  if (local.month !== member.birthday_month) return false;
  if (local.day === member.birthday_day) return true;
  const leap = (local.year % 4 === 0 && local.year % 100 !== 0) || local.year % 400 === 0;
  return member.birthday_month === 2 && member.birthday_day === 29 && !leap && local.day === 28;
}

type TierContext = { key: string; multiplier: EvaluationContext["member"]["tierMultiplier"] };

/** The member's tier as rules see it (its key, and its points multiplier), when the shop has tiers. */
export async function tierContext(
  db: Kysely<Database>,
  shopId: string,
  program: StoredProgram | null,
  memberId: string,
): Promise<TierContext | null> {
  if (!program) return null;
  const { tier } = await memberTierState(db, shopId, program.program, memberId);
  const multiplier = tier.benefits.points_multiplier;
  return { key: tier.key, multiplier: multiplier && { ...multiplier, label: `${tier.key} tier` } };
}

export function evaluationContext(input: {
  shop: Shop;
  type: string;
  occurredAt: string;
  network: string | null;
  member: Pick<MembersTable, "birthday_month" | "birthday_day" | "tags"> | null;
  order: OrderFacts | null;
  /** The member's tier key and the tier's points multiplier, when the shop has tiers. */
  tier?: TierContext | null;
}): EvaluationContext {
  const { shop, member } = input;
  return {
    event: { type: input.type, occurredAt: input.occurredAt, network: input.network },
    order: input.order,
    member: {
      tier: input.tier?.key ?? null,
      tierMultiplier: input.tier?.multiplier ?? null,
      tags: member ? (JSON.parse(member.tags) as string[]) : [],
      isBirthday: member ? isBirthday(member, new Date(input.occurredAt), shop.timezone) : false,
    },
    shop: { timezone: shop.timezone, currency: shop.baseCurrency },
  };
}

/**
 * What the member already earned from each rule in the windows of its limits around the event,
 * counting every version of the rule. Rules without limits cost no query.
 */
export async function ruleUsage(
  db: Kysely<Database>,
  shop: Shop,
  memberId: string,
  rules: readonly ActiveRule[],
  occurredAt: string,
): Promise<Record<string, RuleUsage>> {
  const usage: Record<string, RuleUsage> = {};
  // Limits count earlier awards, some of which may still wait in the batch's insert buffer.
  if (rules.some((rule) => (rule.limits ?? []).length > 0)) await flushInserts(db);
  for (const rule of rules) {
    for (const limit of rule.limits ?? []) {
      const window = limitWindow(limit.period, new Date(occurredAt), shop.timezone);
      let query = db
        .selectFrom("event_awards")
        .select((eb) => [
          eb.fn.coalesce(eb.fn.sum<number>("points"), eb.val(0)).as("points"),
          eb.fn.count<number>("event_id").as("awards"),
        ])
        .where("shop_id", "=", shop.id)
        .where("member_id", "=", memberId)
        .where("rule_id", "=", rule.id)
        .where("points", ">", 0);
      if (window.start) query = query.where("occurred_at", ">=", window.start);
      if (window.end) query = query.where("occurred_at", "<", window.end);
      const row = await query.executeTakeFirst();
      usage[rule.id] ??= {};
      (usage[rule.id] as RuleUsage)[limit.period] = {
        points: Number(row?.points ?? 0),
        awards: Number(row?.awards ?? 0),
      };
    }
  }
  return usage;
}
