import type { FieldError } from "../../platform/errors.js";
import { isCountryCode, isCurrencyCode } from "../../platform/intl.js";
import { zonedDateTime, zonedDayStart } from "../../platform/zoned-time.js";
import { isPlainObject, type Json, unknownProperties } from "./json.js";
import { formatMoney, type Money, validateMoney } from "./money.js";

/*
 * The condition language of earning rules: a JSON tree a marketer can read, that Laurel can check
 * before saving and explain after evaluating.
 *
 *   {"all": [ ...conditions ]}      every one holds (an empty list always holds)
 *   {"any": [ ...conditions ]}      at least one holds (must not be empty)
 *   {"not": condition}              the condition does not hold
 *   {"field": "...", "op": "...", "value": ...}
 *
 * Only the fields and operators below exist; everything else is refused when the rule is saved.
 * A condition on a value the event does not have (an order field on a review, a missing channel)
 * is false whatever its operator — and so true under `not`.
 */

/** What a field holds, which decides its operators and the values they take. */
type FieldKind = "text" | "currency" | "country" | "tier" | "boolean" | "money" | "instant" | "weekday" | "list";

export const conditionOperators = [
  "eq",
  "ne",
  "in",
  "not_in",
  "gt",
  "gte",
  "lt",
  "lte",
  "between",
  "contains_any",
  "contains_all",
  "weekday_in",
] as const;

export type ConditionOperator = (typeof conditionOperators)[number];

const operatorsByKind: Record<FieldKind, readonly ConditionOperator[]> = {
  text: ["eq", "ne", "in", "not_in"],
  currency: ["eq", "ne", "in", "not_in"],
  country: ["eq", "ne", "in", "not_in"],
  tier: ["eq", "ne", "in", "not_in"],
  boolean: ["eq", "ne"],
  money: ["eq", "ne", "gt", "gte", "lt", "lte", "between"],
  instant: ["gt", "gte", "lt", "lte", "between"],
  weekday: ["weekday_in"],
  list: ["contains_any", "contains_all"],
};

/** Every field a condition can name, with the kind of value it holds. */
export const conditionFields = {
  "event.type": "text",
  "event.occurred_at": "instant",
  "event.weekday": "weekday",
  "event.network": "text",
  "order.subtotal": "money",
  "order.total": "money",
  "order.currency": "currency",
  "order.product_ids": "list",
  "order.product_tags": "list",
  "order.collections": "list",
  "order.channel": "text",
  "order.country": "country",
  "order.is_first_order": "boolean",
  "member.tier": "tier",
  "member.tags": "list",
  "member.is_birthday": "boolean",
} as const satisfies Record<string, FieldKind>;

export type ConditionField = keyof typeof conditionFields;

/** Tags match whatever their case: store platforms treat "Coffee" and "coffee" as one tag. */
const caseInsensitiveFields: ReadonlySet<ConditionField> = new Set(["order.product_tags", "member.tags"]);

export const weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export const maxConditionDepth = 8;
export const maxConditionNodes = 100;
const maxListValues = 100;
const maxTextLength = 200;

export interface Predicate {
  field: ConditionField;
  op: ConditionOperator;
  value: Json;
}

export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Predicate;

/** What the conditions are evaluated against. Order amounts are already in the shop currency. */
export interface EvaluationContext {
  event: {
    type: string;
    /** ISO-8601 instant. */
    occurredAt: string;
    /** The social network of social.* events ("instagram", "tiktok"). */
    network?: string | null;
  };
  /** Present for order events. */
  order?: OrderFacts | null;
  member: {
    tier: string | null;
    tags: string[];
    /** Whether the event falls on the member's birthday in the shop time zone; the caller knows the birthday. */
    isBirthday: boolean;
    /** The tier's points multiplier, which every rule applies on order.paid events. */
    tierMultiplier?: { numerator: number; denominator: number; label: string } | null;
  };
  shop: { timezone: string; currency: string };
}

export interface OrderFacts {
  /** In the shop currency: the amounts the platform sent, or converted with the shop's rate table. */
  subtotal: Money;
  total: Money;
  /** The currency the shopper paid in. */
  currency: string;
  productIds: string[];
  productTags: string[];
  collections: string[];
  channel: string | null;
  country: string | null;
  isFirstOrder: boolean;
}

/**
 * One node of an evaluated condition, shaped like the condition itself: `pointer` says where it is
 * in the rule, `reason` why it did not hold (null when it did).
 */
export type ConditionTrace =
  | { pointer: string; matched: boolean; reason: string | null; all: ConditionTrace[] }
  | { pointer: string; matched: boolean; reason: string | null; any: ConditionTrace[] }
  | { pointer: string; matched: boolean; reason: string | null; not: ConditionTrace }
  | {
      pointer: string;
      matched: boolean;
      reason: string | null;
      field: ConditionField;
      op: ConditionOperator;
      value: Json;
      /** The event's value, or null when it has none. */
      actual: Json;
    };

export interface ConditionOptions {
  /** Where the conditions sit in the request or rule, for pointers. */
  pointer?: string;
  /** The shop currency: amounts in another currency are refused. */
  currency?: string;
}

// ---------------------------------------------------------------------------------------------
// Validation

const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const instantPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function isRealDate(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return (
    Number(year) >= 1970 &&
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day)
  );
}

/** A calendar date in the shop time zone ("2026-12-24", the whole day) or an exact instant with its offset. */
type Moment = { date: string } | { instant: number };

function parseMoment(value: unknown): Moment | undefined {
  if (typeof value !== "string") {
    return undefined;
  }
  const date = datePattern.exec(value);
  if (date) {
    const [, year = "", month = "", day = ""] = date;
    return isRealDate(year, month, day) ? { date: value } : undefined;
  }
  const instant = instantPattern.exec(value);
  if (instant) {
    const [, year = "", month = "", day = "", hours = "", minutes = "", seconds = "0"] = instant;
    const valid = isRealDate(year, month, day) && Number(hours) < 24 && Number(minutes) < 60 && Number(seconds) < 60;
    return valid ? { instant: Date.parse(value) } : undefined;
  }
  return undefined;
}

const momentHint =
  'must be a date ("2026-12-24", the whole day in the shop time zone) or an instant with its offset ("2026-12-24T18:00:00+01:00")';

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= maxTextLength;
}

const textMessage = `must be a non-empty string of at most ${maxTextLength} characters`;

/** The checks of one scalar value of a field kind; `undefined` when it is fine. */
function scalarProblem(kind: FieldKind, value: unknown): string | undefined {
  switch (kind) {
    case "currency":
      return typeof value === "string" && isCurrencyCode(value) ? undefined : "must be an ISO 4217 currency code";
    case "country":
      return typeof value === "string" && isCountryCode(value)
        ? undefined
        : "must be an ISO 3166-1 alpha-2 country code such as US or GB";
    case "tier":
      return value === null || isText(value) ? undefined : `must be a tier key (${textMessage}) or null for no tier`;
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "weekday":
      return typeof value === "string" && (weekdays as readonly string[]).includes(value)
        ? undefined
        : `must be one of ${weekdays.join(", ")}`;
    default:
      return isText(value) ? undefined : textMessage;
  }
}

function validateList(kind: FieldKind, value: unknown, pointer: string): FieldError[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxListValues) {
    return [{ pointer, message: `must be a list of 1 to ${maxListValues} values` }];
  }
  const errors: FieldError[] = [];
  value.forEach((item, index) => {
    const problem = scalarProblem(kind === "tier" ? "text" : kind, item);
    if (problem !== undefined) {
      errors.push({ pointer: `${pointer}/${index}`, message: problem });
    }
  });
  return errors;
}

function validateRange(
  value: unknown,
  pointer: string,
  validateBound: (bound: unknown, pointer: string) => FieldError[],
  ordered: (from: unknown, to: unknown) => string | undefined,
): FieldError[] {
  if (!isPlainObject(value)) {
    return [{ pointer, message: 'must be a range {"from": ..., "to": ...}, both ends included' }];
  }
  const errors = unknownProperties(value, ["from", "to"], pointer, "a range");
  errors.push(...validateBound(value.from, `${pointer}/from`), ...validateBound(value.to, `${pointer}/to`));
  if (errors.length === 0) {
    const problem = ordered(value.from, value.to);
    if (problem !== undefined) {
      errors.push({ pointer, message: problem });
    }
  }
  return errors;
}

function validateMomentValue(value: unknown, pointer: string): FieldError[] {
  return parseMoment(value) === undefined ? [{ pointer, message: momentHint }] : [];
}

function validateValue(
  kind: FieldKind,
  op: ConditionOperator,
  value: unknown,
  pointer: string,
  currency: string | undefined,
): FieldError[] {
  if (kind === "money") {
    if (op !== "between") {
      return validateMoney(value, pointer, currency);
    }
    return validateRange(
      value,
      pointer,
      (bound, at) => validateMoney(bound, at, currency),
      (from, to) => {
        const [low, high] = [from as Money, to as Money];
        if (low.currency !== high.currency) {
          return "from and to must be in the same currency";
        }
        return low.amount > high.amount ? "from must not be more than to" : undefined;
      },
    );
  }
  if (kind === "instant") {
    if (op !== "between") {
      return validateMomentValue(value, pointer);
    }
    return validateRange(value, pointer, validateMomentValue, (from, to) => {
      const [low, high] = [parseMoment(from) as Moment, parseMoment(to) as Moment];
      if ("date" in low && "date" in high) {
        return low.date > high.date ? "from must not be after to" : undefined;
      }
      if ("instant" in low && "instant" in high) {
        return low.instant > high.instant ? "from must not be after to" : undefined;
      }
      return "from and to must both be dates or both be instants";
    });
  }
  if (op === "in" || op === "not_in" || op === "contains_any" || op === "contains_all" || op === "weekday_in") {
    return validateList(kind === "list" ? "text" : kind, value, pointer);
  }
  const problem = scalarProblem(kind, value);
  return problem === undefined ? [] : [{ pointer, message: problem }];
}

const nodeHint = 'must be a condition: {"all": [...]}, {"any": [...]}, {"not": {...}} or {"field", "op", "value"}';

/**
 * Every problem of a condition tree, with JSON pointers from `options.pointer` (default
 * `/conditions`): unknown fields, operators or properties, values of the wrong type, nesting
 * deeper than 8 levels, more than 100 nodes. An empty list means the conditions can be saved.
 */
export function validateConditions(json: unknown, options: ConditionOptions = {}): FieldError[] {
  const root = options.pointer ?? "/conditions";
  const errors: FieldError[] = [];
  let nodes = 0;

  const visit = (node: unknown, pointer: string, depth: number): void => {
    nodes += 1;
    if (nodes > maxConditionNodes) {
      return;
    }
    if (depth > maxConditionDepth) {
      errors.push({ pointer, message: `is nested too deeply: conditions nest at most ${maxConditionDepth} levels` });
      return;
    }
    if (!isPlainObject(node)) {
      errors.push({ pointer, message: nodeHint });
      return;
    }
    const shapes = (["all", "any", "not", "field"] as const).filter((key) => key in node);
    const [shape] = shapes;
    if (shape === undefined || shapes.length > 1) {
      errors.push({ pointer, message: `${nodeHint}, exactly one of them` });
      return;
    }
    if (shape === "not") {
      errors.push(...unknownProperties(node, ["not"], pointer, "a not condition"));
      visit(node.not, `${pointer}/not`, depth + 1);
      return;
    }
    if (shape === "all" || shape === "any") {
      errors.push(...unknownProperties(node, [shape], pointer, `an ${shape} condition`));
      const children = node[shape];
      if (!Array.isArray(children)) {
        errors.push({ pointer: `${pointer}/${shape}`, message: "must be a list of conditions" });
        return;
      }
      if (shape === "any" && children.length === 0) {
        errors.push({ pointer: `${pointer}/any`, message: "must not be empty: an empty any never holds" });
      }
      for (const [index, child] of children.entries()) {
        // Past the limit the count is all that matters: a million-item list costs no more than 101.
        if (nodes > maxConditionNodes) {
          return;
        }
        visit(child, `${pointer}/${shape}/${index}`, depth + 1);
      }
      return;
    }
    validatePredicate(node, pointer);
  };

  const validatePredicate = (node: Record<string, unknown>, pointer: string): void => {
    errors.push(...unknownProperties(node, ["field", "op", "value"], pointer, "a field condition"));
    const { field, op } = node;
    const kind =
      typeof field === "string" && Object.hasOwn(conditionFields, field)
        ? conditionFields[field as ConditionField]
        : undefined;
    if (kind === undefined) {
      errors.push({
        pointer: `${pointer}/field`,
        message: `must be one of ${Object.keys(conditionFields).join(", ")}`,
      });
    }
    const known = typeof op === "string" && (conditionOperators as readonly string[]).includes(op);
    if (!known) {
      errors.push({ pointer: `${pointer}/op`, message: `must be one of ${conditionOperators.join(", ")}` });
    } else if (kind !== undefined && !operatorsByKind[kind].includes(op as ConditionOperator)) {
      errors.push({
        pointer: `${pointer}/op`,
        message: `${String(field)} takes ${operatorsByKind[kind].join(", ")}, not ${op}`,
      });
      return;
    }
    if (!("value" in node)) {
      errors.push({ pointer: `${pointer}/value`, message: "is required" });
      return;
    }
    if (kind !== undefined && known) {
      errors.push(...validateValue(kind, op as ConditionOperator, node.value, `${pointer}/value`, options.currency));
    }
  };

  visit(json, root, 1);
  if (nodes > maxConditionNodes) {
    errors.unshift({ pointer: root, message: `has more than ${maxConditionNodes} conditions` });
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Description

function quote(value: Json): string {
  return JSON.stringify(value);
}

function weekdayName(day: string): string {
  return weekdayNames[weekdays.indexOf(day as (typeof weekdays)[number])] ?? day;
}

function orList(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

function shownValue(kind: FieldKind, value: Json): string {
  if (kind === "money") {
    return formatMoney(value as unknown as Money);
  }
  if (kind === "instant" || kind === "boolean") {
    return String(value);
  }
  if (kind === "tier" && value === null) {
    return "none";
  }
  return quote(value);
}

/** The operator and value as words: "at least 50.00 USD", "on or after 2026-12-01", "one of "pos", "web"". */
function operatorPhrase(kind: FieldKind, op: ConditionOperator, value: Json): string {
  const one = (item: Json) => shownValue(kind, item);
  const many = () => (value as Json[]).map(one).join(", ");
  const dates = kind === "instant";
  switch (op) {
    case "eq":
      return one(value);
    case "ne":
      return `not ${one(value)}`;
    case "in":
      return `one of ${many()}`;
    case "not_in":
      return `not one of ${many()}`;
    case "gt":
      return `${dates ? "after" : "more than"} ${one(value)}`;
    case "gte":
      return `${dates ? "on or after" : "at least"} ${one(value)}`;
    case "lt":
      return `${dates ? "before" : "less than"} ${one(value)}`;
    case "lte":
      return `${dates ? "on or before" : "at most"} ${one(value)}`;
    case "between": {
      const range = value as { from: Json; to: Json };
      return `between ${one(range.from)} and ${one(range.to)}`;
    }
    case "contains_any":
      return `any of ${many()}`;
    case "contains_all":
      return `all of ${many()}`;
    case "weekday_in":
      return orList((value as string[]).map(weekdayName));
  }
}

function describePredicate(predicate: Predicate): string {
  const kind = conditionFields[predicate.field];
  const verb = kind === "list" ? "includes" : "is";
  return `${predicate.field} ${verb} ${operatorPhrase(kind, predicate.op, predicate.value)}`;
}

/** A condition in words, for admin screens: `order.subtotal is at least 50.00 USD and not (order.channel is "pos")`. */
export function describeCondition(condition: Condition): string {
  const nested = (child: Condition) =>
    "all" in child || "any" in child ? `(${describeCondition(child)})` : describeCondition(child);
  if ("all" in condition) {
    return condition.all.length === 0 ? "always" : condition.all.map(nested).join(" and ");
  }
  if ("any" in condition) {
    return condition.any.map(nested).join(" or ");
  }
  if ("not" in condition) {
    return `not (${describeCondition(condition.not)})`;
  }
  return describePredicate(condition);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** The facts of one evaluation, worked out once. */
interface Facts {
  context: EvaluationContext;
  occurredAt: number;
  local: ReturnType<typeof zonedDateTime>;
}

type Reading = { value: Json } | { missing: string };

function read(field: ConditionField, facts: Facts): Reading {
  const { event, order, member } = facts.context;
  const fromOrder = (pick: (order: OrderFacts) => Json): Reading => {
    if (order === undefined || order === null) {
      return { missing: "the event has no order" };
    }
    const value = pick(order);
    return value === null ? { missing: `${field} is not set` } : { value };
  };
  switch (field) {
    case "event.type":
      return { value: event.type };
    case "event.occurred_at":
      return { value: event.occurredAt };
    case "event.weekday":
      return { value: weekdays[facts.local.weekday] ?? null };
    case "event.network":
      return event.network === undefined || event.network === null
        ? { missing: "event.network is not set" }
        : { value: event.network };
    case "order.subtotal":
      return fromOrder((o) => ({ amount: o.subtotal.amount, currency: o.subtotal.currency }));
    case "order.total":
      return fromOrder((o) => ({ amount: o.total.amount, currency: o.total.currency }));
    case "order.currency":
      return fromOrder((o) => o.currency);
    case "order.product_ids":
      return fromOrder((o) => o.productIds);
    case "order.product_tags":
      return fromOrder((o) => o.productTags);
    case "order.collections":
      return fromOrder((o) => o.collections);
    case "order.channel":
      return fromOrder((o) => o.channel);
    case "order.country":
      return fromOrder((o) => o.country);
    case "order.is_first_order":
      return fromOrder((o) => o.isFirstOrder);
    case "member.tier":
      return { value: member.tier };
    case "member.tags":
      return { value: member.tags };
    case "member.is_birthday":
      return { value: member.isBirthday };
  }
}

/** The half-open span of instants a moment covers: a whole local day, or one millisecond. */
function span(moment: Moment, timeZone: string): [number, number] {
  if ("instant" in moment) {
    return [moment.instant, moment.instant + 1];
  }
  const [year, month, day] = moment.date.split("-").map(Number) as [number, number, number];
  return [zonedDayStart(year, month, day, timeZone).getTime(), zonedDayStart(year, month, day + 1, timeZone).getTime()];
}

function localText(facts: Facts): string {
  const { year, month, day, hour, minute } = facts.local;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${year}-${two(month)}-${two(day)} ${two(hour)}:${two(minute)} ${facts.context.shop.timezone}`;
}

/** Whether a predicate holds for a value the event has, and if not, why. */
function check(predicate: Predicate, actual: Json, facts: Facts): string | null {
  const { field, op, value } = predicate;
  const kind = conditionFields[field];
  const phrase = operatorPhrase(kind, op, value);

  if (kind === "money") {
    const amount = actual as unknown as Money;
    const bounds = (op === "between"
      ? [(value as { from: Json }).from, (value as { to: Json }).to]
      : [value]) as unknown as Money[];
    const currency = bounds[0]?.currency;
    if (amount.currency !== currency) {
      return `${field} is ${formatMoney(amount)}, in another currency than the condition's ${currency}`;
    }
    const [low, high] = [bounds[0]?.amount ?? 0, bounds[1]?.amount ?? 0];
    const holds = {
      eq: amount.amount === low,
      ne: amount.amount !== low,
      gt: amount.amount > low,
      gte: amount.amount >= low,
      lt: amount.amount < low,
      lte: amount.amount <= low,
      between: amount.amount >= low && amount.amount <= high,
    }[op as "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "between"];
    return holds ? null : `${field} is ${formatMoney(amount)}, not ${phrase}`;
  }

  if (kind === "instant") {
    const at = facts.occurredAt;
    const timeZone = facts.context.shop.timezone;
    const spanOf = (moment: Json) => span(parseMoment(moment) as Moment, timeZone);
    let holds: boolean;
    if (op === "between") {
      const range = value as { from: Json; to: Json };
      holds = at >= spanOf(range.from)[0] && at < spanOf(range.to)[1];
    } else {
      const [start, end] = spanOf(value);
      holds = { gt: at >= end, gte: at >= start, lt: at < start, lte: at < end }[op as "gt" | "gte" | "lt" | "lte"];
    }
    return holds ? null : `${field} is ${localText(facts)}, not ${phrase}`;
  }

  if (kind === "weekday") {
    const day = actual as string;
    return (value as string[]).includes(day) ? null : `${field} is ${weekdayName(day)}, not ${phrase}`;
  }

  if (kind === "list") {
    const fold = caseInsensitiveFields.has(field) ? (s: string) => s.toLowerCase() : (s: string) => s;
    const have = new Set((actual as string[]).map(fold));
    const wanted = value as string[];
    const shown = (actual as string[]).length === 0 ? "empty" : quote(actual);
    if (op === "contains_any") {
      return wanted.some((item) => have.has(fold(item)))
        ? null
        : `${field} is ${shown}, with none of ${wanted.map((item) => quote(item)).join(", ")}`;
    }
    const lacking = wanted.filter((item) => !have.has(fold(item)));
    return lacking.length === 0
      ? null
      : `${field} is ${shown}, without ${lacking.map((item) => quote(item)).join(", ")}`;
  }

  const shown = shownValue(kind, actual);
  switch (op) {
    case "eq":
      return actual === value ? null : `${field} is ${shown}, not ${phrase}`;
    case "in":
      return (value as Json[]).includes(actual) ? null : `${field} is ${shown}, not ${phrase}`;
    case "ne":
      return actual !== value ? null : `${field} is ${shown}, which the condition excludes`;
    default:
      return (value as Json[]).includes(actual) ? `${field} is ${shown}, which the condition excludes` : null;
  }
}

function evaluate(condition: Condition, pointer: string, facts: Facts): ConditionTrace {
  if ("all" in condition) {
    const all = condition.all.map((child, index) => evaluate(child, `${pointer}/all/${index}`, facts));
    const failed = all.filter((child) => !child.matched);
    return {
      pointer,
      matched: failed.length === 0,
      reason: failed.length === 0 ? null : failed.map((child) => child.reason).join("; "),
      all,
    };
  }
  if ("any" in condition) {
    const any = condition.any.map((child, index) => evaluate(child, `${pointer}/any/${index}`, facts));
    const matched = any.some((child) => child.matched);
    return {
      pointer,
      matched,
      reason: matched ? null : `none of the alternatives holds (${any.map((child) => child.reason).join("; ")})`,
      any,
    };
  }
  if ("not" in condition) {
    const inner = evaluate(condition.not, `${pointer}/not`, facts);
    return {
      pointer,
      matched: !inner.matched,
      reason: inner.matched ? `excluded because ${describeCondition(condition.not)}` : null,
      not: inner,
    };
  }
  const reading = read(condition.field, facts);
  const base = { pointer, field: condition.field, op: condition.op, value: condition.value };
  if ("missing" in reading) {
    return {
      ...base,
      matched: false,
      actual: null,
      reason: `${reading.missing} (condition: ${describePredicate(condition)})`,
    };
  }
  const reason = check(condition, reading.value, facts);
  return { ...base, matched: reason === null, actual: reading.value, reason };
}

/**
 * Evaluates validated conditions against an event. The trace mirrors the condition tree and says
 * of every node that did not hold why not; `trace.reason` is the sentence for the merchant.
 * No conditions (`null`) always match.
 */
export function evaluateConditions(
  conditions: Condition | null,
  context: EvaluationContext,
  options: Pick<ConditionOptions, "pointer"> = {},
): { matched: boolean; trace: ConditionTrace } {
  const occurredAt = Date.parse(context.event.occurredAt);
  if (Number.isNaN(occurredAt)) {
    throw new RangeError(`event.occurredAt is not an ISO-8601 instant: ${context.event.occurredAt}`);
  }
  const facts: Facts = {
    context,
    occurredAt,
    local: zonedDateTime(new Date(occurredAt), context.shop.timezone),
  };
  const trace = evaluate(conditions ?? { all: [] }, options.pointer ?? "/conditions", facts);
  return { matched: trace.matched, trace };
}
