import { randomInt } from "node:crypto";
import type { Money } from "../rules/index.js";
import type { RewardValue } from "./catalog.js";
import type { RewardType } from "./tables.js";

// No 0/O, 1/I/L or 5/S: a code read aloud or typed from a receipt comes out right.
const alphabet = "ABCDEFGHJKMNPQRTUVWXYZ2346789";
/** 12 characters of 29: about 58 bits, far beyond guessing at any rate an API allows. */
const codeLength = 12;

/** A new code: the prefix, then three groups of four random characters (LAUREL-7KQ2-XM4T-9PWA). */
export function newCode(prefix: string): string {
  const characters = Array.from({ length: codeLength }, () => alphabet[randomInt(alphabet.length)]).join("");
  return `${prefix}${characters.slice(0, 4)}-${characters.slice(4, 8)}-${characters.slice(8)}`;
}

/** Codes are matched without regard to case or surrounding spaces. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

/** What a redemption issued, frozen when it was redeemed: later catalog edits do not change it. */
export interface IssuedReward {
  reward_id: string;
  version: number;
  type: RewardType;
  name: Record<string, string>;
  value: RewardValue;
  min_order: Money[];
}

export interface Cart {
  total: number;
  currency: string;
}

/** What a code is worth on a cart, or why it does not apply. */
export interface CodeDecision {
  applies: boolean;
  reason: string | null;
  discount: Money | null;
  free_shipping: { max_amount: Money | null } | null;
  free_product: { variant_id: string; product_id: string | null } | null;
  instructions: string | null;
}

function inCurrency(list: Money[], currency: string): Money | undefined {
  return list.find((money) => money.currency === currency);
}

function refuse(reason: string): CodeDecision {
  return { applies: false, reason, discount: null, free_shipping: null, free_product: null, instructions: null };
}

/**
 * The discount an issued reward gives a cart: a fixed amount (never more than the cart), a percent
 * rounded down (capped by the maximum in that currency), free shipping, a free product, or the
 * merchant's instructions. Amounts exist per currency: a cart in a currency the reward does not
 * name gets nothing.
 */
export function decide(issued: IssuedReward, cart: Cart): CodeDecision {
  const minimum = issued.min_order.length > 0 ? inCurrency(issued.min_order, cart.currency) : undefined;
  if (issued.min_order.length > 0 && minimum === undefined) {
    return refuse(`the reward has no minimum order in ${cart.currency}: it does not apply to carts in that currency`);
  }
  if (minimum !== undefined && cart.total < minimum.amount) {
    return refuse(`the cart total is below the minimum order of ${minimum.amount} ${minimum.currency} (minor units)`);
  }
  const none = refuse("");
  const base = { ...none, applies: true, reason: null };
  switch (issued.type) {
    case "amount_off": {
      const amount = inCurrency((issued.value as { amounts: Money[] }).amounts, cart.currency);
      if (!amount) return refuse(`the reward has no amount in ${cart.currency}`);
      return { ...base, discount: { amount: Math.min(amount.amount, cart.total), currency: cart.currency } };
    }
    case "percent_off": {
      const { percent, max_amounts } = issued.value as { percent: number; max_amounts: Money[] };
      const cap = inCurrency(max_amounts, cart.currency);
      if (max_amounts.length > 0 && !cap) return refuse(`the reward has no maximum in ${cart.currency}`);
      const raw = Number((BigInt(cart.total) * BigInt(percent)) / 100n);
      return { ...base, discount: { amount: cap ? Math.min(raw, cap.amount) : raw, currency: cart.currency } };
    }
    case "free_shipping": {
      const caps = (issued.value as { max_amounts: Money[] }).max_amounts;
      const cap = inCurrency(caps, cart.currency);
      if (caps.length > 0 && !cap) return refuse(`the reward has no shipping maximum in ${cart.currency}`);
      return { ...base, free_shipping: { max_amount: cap ?? null } };
    }
    case "free_product": {
      const { variant_id, product_id } = issued.value as { variant_id: string; product_id: string | null };
      return { ...base, free_product: { variant_id, product_id } };
    }
    case "custom":
      return { ...base, instructions: (issued.value as { instructions: string }).instructions };
    case "store_credit":
      return refuse("store credit is a balance, not a code");
  }
}
