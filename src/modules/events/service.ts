import { sql } from "kysely";
import { addMonths } from "../../platform/clock.js";
import { isUniqueViolation } from "../../platform/db/constraint-errors.js";
import type { DatabaseHandle } from "../../platform/db/database.js";
import { flushInserts, withInsertBuffer } from "../../platform/db/insert-buffer.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { AppError, invalidField, isAppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { type Actor, creditPoints, reverseTransaction } from "../ledger/index.js";
import { normalizeIdentifier } from "../members/identifiers.js";
import { createMember, updateMember } from "../members/index.js";
import type { IdentifierKind } from "../members/tables.js";
import { rewardsOnOrderPaid, rewardsOnOrderUndone } from "../rewards/index.js";
import { type Explanation, evaluateRules, type RuleExplanation } from "../rules/index.js";
import { type ActiveRule, listActiveRules } from "../rules/service.js";
import { getShop, type Shop } from "../shops/index.js";
import {
  evaluateAfterActivity,
  getProgram,
  grantBirthdayGift,
  memberTierState,
  type StoredProgram,
  type TierChangeResult,
} from "../tiers/index.js";
import { evaluationContext, type OrderAmounts, orderAmounts, orderFacts, ruleUsage, tierContext } from "./context.js";
import { isKnownEventType } from "./event-types.js";
import type { EventMember } from "./repository.js";
import * as repository from "./repository.js";
import type { EventBody } from "./schema.js";
import type { EventAwardsTable, EventsTable, OrdersTable } from "./tables.js";

/** Events dated further ahead than this are refused: a clock that far off is a bug, not a sale. */
const maxFutureMs = 24 * 60 * 60 * 1000;

/** One ledger credit of an event: the awards that share a pending period and an expiry. */
export interface LedgerLine {
  transaction_id: string | null;
  points: number;
  rule_ids: string[];
  pending_until: string | null;
  expires_at: string | null;
  /** Why nothing was credited (points already expired when a backfill recorded them). */
  note: string | null;
}

/** What a refund or cancellation took back. */
export interface Clawback {
  order_total: number;
  refunded_before: number;
  refunded_now: number;
  points_earned: number;
  points_reversed_before: number;
  /** Points the order should have lost in total after this event (proportional, rounded down). */
  target_reversed: number;
  reversed_now: number;
  /** Of reversed_now, what the member had already spent: recorded as owed. */
  debt_recorded: number;
  transactions: string[];
}

/** The stored explanation of an event: the rule evaluation plus what Laurel did with it. */
export interface EventExplanation extends Partial<Explanation> {
  member: { id: string; status: string } | null;
  order: (OrderAmounts & { id: string; is_first_order: boolean }) | null;
  ledger: LedgerLine[];
  clawback: Clawback | null;
  notes: string[];
  /** The member's tier when the event was evaluated, and what the event changed about it. */
  tier?: {
    key: string;
    change: TierChangeResult | null;
    birthday_gift: { points: number; transaction_id: string | null; note: string | null } | null;
  };
}

export interface IngestOptions {
  /** Used when the body names no source: "api" for the events API, the platform for webhooks. */
  defaultSource: string;
  actor: Actor;
  /** Where validation errors point ("/body" or "/body/events/3"). */
  pointer: string;
}

export interface IngestResult {
  event: EventsTable;
  duplicate: boolean;
}

/**
 * Caches for one request: a batch of 1,000 orders reads the shop, the event types and the rules
 * once, not 1,000 times. `isolation` says how a refused event is kept from leaving anything behind:
 * "savepoints" wraps each event in one; "none" relies on every check running before the event's
 * first write (`wrote` says whether it got that far) and leaves the rest to the caller.
 */
export class IngestSession {
  private shop: Shop | undefined;
  private readonly knownTypes = new Map<string, boolean>();
  private readonly rules = new Map<string, ActiveRule[]>();
  /** Set once the current event has written anything. */
  wrote = false;
  // What this session stored, for the lookups that must see it before an insert buffer is
  // flushed: events by (source, external_id), orders by (source, id), members with an order.
  private readonly events = new Map<string, EventsTable>();
  private readonly orders = new Map<string, OrdersTable>();
  private readonly membersWithOrders = new Set<string>();

  constructor(
    readonly shopId: string,
    readonly isolation: "savepoints" | "none" = "savepoints",
  ) {}

  async getShop(trx: Tx): Promise<Shop> {
    this.shop ??= await getShop(trx, this.shopId);
    return this.shop;
  }

  async isKnownType(trx: Tx, type: string): Promise<boolean> {
    let known = this.knownTypes.get(type);
    if (known === undefined) {
      known = await isKnownEventType(trx, this.shopId, type);
      this.knownTypes.set(type, known);
    }
    return known;
  }

  async findEvent(trx: Tx, source: string, externalId: string): Promise<EventsTable | undefined> {
    return (
      this.events.get(`${source}\u0000${externalId}`) ??
      (await repository.findEvent(trx, this.shopId, source, externalId))
    );
  }

  /** Whether the order is known; its amounts may be stale here (refunds update the table only). */
  async findPaidOrder(trx: Tx, source: string, orderId: string): Promise<OrdersTable | undefined> {
    return (
      this.orders.get(`${source}\u0000${orderId}`) ?? (await repository.findOrder(trx, this.shopId, source, orderId))
    );
  }

  async isFirstOrder(trx: Tx, memberId: string): Promise<boolean> {
    return !this.membersWithOrders.has(memberId) && (await repository.isFirstOrder(trx, this.shopId, memberId));
  }

  /** Called once an event is stored for good (its savepoint, if any, released). */
  remember(event: EventsTable, order: OrdersTable | null): void {
    if (event.external_id !== null) this.events.set(`${event.source}\u0000${event.external_id}`, event);
    if (order) {
      this.orders.set(`${order.source}\u0000${order.external_id}`, order);
      if (order.member_id !== null) this.membersWithOrders.add(order.member_id);
    }
  }

  private program: StoredProgram | null | undefined;

  /** The shop's tier program, or null when it has none. */
  async tierProgram(trx: Tx): Promise<StoredProgram | null> {
    if (this.program === undefined) this.program = (await getProgram(trx, this.shopId)) ?? null;
    return this.program;
  }

  async activeRules(trx: Tx, type: string): Promise<ActiveRule[]> {
    let rules = this.rules.get(type);
    if (rules === undefined) {
      rules = await listActiveRules(trx, this.shopId, type);
      this.rules.set(type, rules);
    }
    return rules;
  }
}

function duplicateOf(existing: EventsTable, type: string, pointer: string): IngestResult {
  if (existing.type !== type) {
    throw new AppError(
      "event_conflict",
      `external_id ${existing.external_id} of source ${existing.source} already names ${existing.type} event ${existing.id}; give each event its own id`,
      { errors: [{ pointer: `${pointer}/external_id`, message: `already names a ${existing.type} event` }] },
    );
  }
  return { event: existing, duplicate: true };
}

/** The member a merged duplicate now lives on (merges can chain). */
async function followMerges(trx: Tx, member: EventMember): Promise<EventMember> {
  let current = member;
  for (let hops = 0; current.merged_into_member_id !== null && hops < 10; hops++) {
    const next = await repository.findMember(trx, current.shop_id, current.merged_into_member_id);
    if (!next) break;
    current = next;
  }
  return current;
}

const identifierFields: Array<[keyof NonNullable<EventBody["member"]>, IdentifierKind]> = [
  ["shopify_id", "shopify"],
  ["woocommerce_id", "woocommerce"],
  ["external_id", "external"],
  ["email", "email"],
  ["phone", "phone"],
];

/** Who an event is about, worked out by reading only; `applyMemberPlan` does the writing. */
type MemberPlan =
  | { kind: "none" }
  | { kind: "found"; member: EventMember; link: Array<{ kind: IdentifierKind; value: string }> }
  | { kind: "create"; identifiers: Array<{ kind: IdentifierKind; value: string }> };

/**
 * The event's member: by id, or by the first of its identifiers that belongs to someone (with the
 * identifiers nobody holds yet, to link), or a new member with all of them. An identifier of
 * another member than the one found is left alone (an event never merges members). "none" when
 * the event names nobody (a guest checkout on a platform).
 */
async function planMember(trx: Tx, shop: Shop, body: EventBody, pointer: string): Promise<MemberPlan> {
  if (body.member_id !== undefined) {
    const row = await repository.findMember(trx, shop.id, body.member_id);
    if (!row) {
      throw new AppError("member_not_found", `No member ${body.member_id} in this shop`, {
        errors: [{ pointer: `${pointer}/member_id`, message: "is not a member of this shop" }],
      });
    }
    return { kind: "found", member: await followMerges(trx, row), link: [] };
  }
  if (body.member === undefined) return { kind: "none" };
  const identifiers: Array<{ kind: IdentifierKind; value: string }> = [];
  for (const [field, kind] of identifierFields) {
    const raw = body.member[field];
    if (raw === undefined) continue;
    const value = normalizeIdentifier(kind, raw, {
      defaultCountry: shop.defaultCountry,
      pointer: `${pointer}/member/${field}`,
    });
    identifiers.push({ kind, value });
  }
  if (identifiers.length === 0) {
    throw invalidField(
      `${pointer}/member`,
      "needs at least one identifier: shopify_id, woocommerce_id, external_id, email or phone",
    );
  }
  let holder: EventMember | undefined;
  const free: Array<{ kind: IdentifierKind; value: string }> = [];
  for (const identifier of identifiers) {
    const memberId = await repository.findIdentifierHolder(trx, shop.id, identifier.kind, identifier.value);
    if (memberId === undefined) free.push(identifier);
    else holder ??= await repository.findMember(trx, shop.id, memberId);
  }
  if (holder === undefined) return { kind: "create", identifiers };
  const member = await followMerges(trx, holder);
  // A cancelled or erased member's identity is left as it is.
  const linkable = member.status !== "cancelled" && member.status !== "erased";
  return { kind: "found", member, link: linkable ? free : [] };
}

async function applyMemberPlan(
  trx: Tx,
  shop: Shop,
  plan: MemberPlan,
  body: EventBody,
  now: Date,
): Promise<EventMember | null> {
  if (plan.kind === "none") return null;
  if (plan.kind === "found") {
    if (plan.link.length === 0) return plan.member;
    // Identifiers nobody holds yet join the member found (a Shopify id on a member known by email).
    await updateMember(trx, { shopId: shop.id, memberId: plan.member.id, identifiers: plan.link }, now);
    return (await repository.findMember(trx, shop.id, plan.member.id)) ?? plan.member;
  }
  const created = await createMember(
    trx,
    {
      shopId: shop.id,
      identifiers: plan.identifiers,
      profile: { givenName: body.member?.given_name, familyName: body.member?.family_name },
    },
    now,
  );
  return (await repository.findMember(trx, shop.id, created.id)) ?? null;
}

/** Why a member cannot earn, or null when they can. Guests earn: the points wait for them to join. */
function cannotEarn(member: EventMember | null): string | null {
  if (member === null) return "the event names no member (a guest checkout without a customer)";
  if (member.status === "cancelled" || member.status === "erased" || member.status === "suspended") {
    return `member ${member.id} is ${member.status}`;
  }
  return null;
}

/**
 * Credits what the rules awarded: one ledger transaction per distinct pending period and expiry
 * (usually one per event), each referring to the event. Pending and expiry count from when the
 * event happened, so a backfilled order does not get a fresh return window or a longer life.
 */
async function creditAwards(
  trx: Tx,
  input: {
    shop: Shop;
    event: EventsTable;
    memberId: string;
    rules: readonly ActiveRule[];
    explanation: Explanation;
    actor: Actor;
    label: string;
  },
  now: Date,
): Promise<LedgerLine[]> {
  const { event, rules, explanation } = input;
  const groups = new Map<string, { pendingUntil: string | null; expiresAt: string | null; lines: RuleExplanation[] }>();
  for (const line of explanation.rules) {
    if (line.awarded <= 0) continue;
    const rule = rules.find((candidate) => candidate.id === line.rule_id) as ActiveRule;
    const pendingUntil =
      rule.pending_days > 0
        ? new Date(Date.parse(event.occurred_at) + rule.pending_days * 86_400_000).toISOString()
        : null;
    const expiresAt = rule.expiry_months === null ? null : addMonths(event.occurred_at, rule.expiry_months);
    const key = `${pendingUntil}|${expiresAt}`;
    const group = groups.get(key) ?? { pendingUntil, expiresAt, lines: [] };
    group.lines.push(line);
    groups.set(key, group);
  }
  const lines: LedgerLine[] = [];
  const transactionOf = new Map<string, string | null>();
  const nowIso = now.toISOString();
  for (const group of groups.values()) {
    const points = group.lines.reduce((sum, line) => sum + line.awarded, 0);
    const ruleIds = group.lines.map((line) => line.rule_id);
    const base = { points, rule_ids: ruleIds, pending_until: group.pendingUntil, expires_at: group.expiresAt };
    if (group.expiresAt !== null && group.expiresAt <= nowIso) {
      lines.push({ ...base, transaction_id: null, note: `not credited: the points expired on ${group.expiresAt}` });
      for (const id of ruleIds) transactionOf.set(id, null);
      continue;
    }
    const pending = group.pendingUntil !== null && group.pendingUntil > nowIso;
    const { transaction } = await creditPoints(
      trx,
      {
        shopId: input.shop.id,
        memberId: input.memberId,
        type: "earn",
        amount: points,
        expiresAt: group.expiresAt,
        pending,
        pendingUntil: pending ? group.pendingUntil : null,
        reason: input.label,
        reference: event.id,
        metadata: {
          event_id: event.id,
          event_type: event.type,
          rules: group.lines.map((line) => ({ rule_id: line.rule_id, version: line.version, points: line.awarded })),
        },
        actor: input.actor,
      },
      now,
    );
    lines.push({ ...base, transaction_id: transaction.id, note: null });
    for (const id of ruleIds) transactionOf.set(id, transaction.id);
  }
  const awards: EventAwardsTable[] = explanation.rules
    .filter((line) => line.matched)
    .map((line) => ({
      shop_id: input.shop.id,
      event_id: event.id,
      rule_id: line.rule_id,
      rule_version: line.version,
      member_id: input.memberId,
      points: line.awarded,
      transaction_id: transactionOf.get(line.rule_id) ?? null,
      occurred_at: event.occurred_at,
    }));
  await repository.insertAwards(trx, awards);
  return lines;
}

/**
 * Takes back `amount` points of an order's credits, newest credit last: pending points are
 * cancelled, spendable ones taken back, and what the member already spent becomes debt.
 */
async function reverseOrderCredits(
  trx: Tx,
  input: { shopId: string; order: OrdersTable; amount: number; eventId: string; actor: Actor; reason: string },
  now: Date,
): Promise<{ transactions: string[]; debt: number }> {
  // The paid event's awards name its credits (found by primary key; the ledger has no index on reference).
  const credits = await repository.listEventCredits(trx, input.shopId, input.order.paid_event_id);
  let left = input.amount;
  let debt = 0;
  const transactions: string[] = [];
  for (const credit of credits) {
    if (left === 0) break;
    const take = Math.min(left, credit.amount - credit.reversed_amount);
    if (take <= 0) continue;
    const result = await reverseTransaction(
      trx,
      {
        shopId: input.shopId,
        transactionId: credit.id,
        amount: take,
        shortfall: "debt",
        actor: input.actor,
        reason: input.reason,
        reference: input.eventId,
      },
      now,
    );
    transactions.push(result.transaction.id);
    debt += result.debtRecorded ?? 0;
    left -= take;
  }
  return { transactions, debt };
}

/**
 * Handles one event inside the caller's transaction. Every check that can refuse it runs before
 * its first write (`session.wrote` marks the line), so without savepoints a refused event has
 * still written nothing.
 */
async function processEvent(
  trx: Tx,
  session: IngestSession,
  body: EventBody,
  options: IngestOptions,
  now: Date,
): Promise<IngestResult & { order?: OrdersTable | null }> {
  const { pointer } = options;
  const shop = await session.getShop(trx);
  const source = body.source ?? options.defaultSource;
  if (!(await session.isKnownType(trx, body.type))) {
    throw new AppError(
      "unknown_event_type",
      `Unknown event type ${body.type}; define it at PUT /v1/event-types/${body.type}`,
      {
        errors: [
          { pointer: `${pointer}/type`, message: "is neither a built-in type nor one of the shop's custom types" },
        ],
      },
    );
  }
  if (body.external_id !== undefined) {
    const existing = await session.findEvent(trx, source, body.external_id);
    if (existing) return duplicateOf(existing, body.type, pointer);
  }
  const occurredAt = body.occurred_at === undefined ? now.toISOString() : new Date(body.occurred_at).toISOString();
  if (Date.parse(occurredAt) > now.getTime() + maxFutureMs) {
    throw invalidField(`${pointer}/occurred_at`, "must not be more than a day in the future");
  }
  const isUndo = body.type === "order.refunded" || body.type === "order.cancelled";
  if ((isUndo || body.type === "order.paid") && body.order === undefined) {
    throw invalidField(`${pointer}/order`, `is required for ${body.type} events`);
  }
  if (body.type === "order.refunded" && body.refund === undefined) {
    throw invalidField(`${pointer}/refund`, "is required for order.refunded events");
  }

  const event: EventsTable = {
    shop_id: shop.id,
    id: newId("event", now),
    source,
    external_id: body.external_id ?? null,
    type: body.type,
    member_id: null,
    order_id: body.order?.id ?? null,
    status: "processed",
    reason: null,
    points: 0,
    occurred_at: occurredAt,
    received_at: now.toISOString(),
    payload: JSON.stringify(body),
    explanation: "",
  };
  const explanation: EventExplanation = { member: null, order: null, ledger: [], clawback: null, notes: [] };
  const skip = (reason: string) => {
    event.status = "skipped";
    event.reason = reason;
  };
  let order: OrdersTable | null = null;

  if (isUndo) {
    const orderId = (body.order as NonNullable<EventBody["order"]>).id;
    // The refund reads and updates the order row: rows still held in an insert buffer go in first.
    await flushInserts(trx);
    const known = await repository.findOrder(trx, shop.id, source, orderId);
    if (known && body.refund && body.refund.currency !== known.currency) {
      throw invalidField(`${pointer}/refund/currency`, `must be the order's currency ${known.currency}`);
    }
    session.wrote = true;
    await undoOrder(trx, { shop, body, orderId, event, explanation, options, skip }, now);
  } else {
    const plan = await planMember(trx, shop, body, pointer);
    let amounts: OrderAmounts | null = null;
    let existingOrder: OrdersTable | undefined;
    if (body.type === "order.paid" && body.order) {
      amounts = await orderAmounts(trx, shop, body.order, pointer);
      existingOrder = await session.findPaidOrder(trx, source, body.order.id);
    }
    session.wrote = true;
    const member = await applyMemberPlan(trx, shop, plan, body, now);
    event.member_id = member?.id ?? null;
    explanation.member = member ? { id: member.id, status: member.status } : null;
    let facts = null;
    if (body.type === "order.paid" && body.order && amounts) {
      const first = member ? await session.isFirstOrder(trx, member.id) : false;
      explanation.order = { id: body.order.id, ...amounts, is_first_order: first };
      facts = orderFacts(body.order, amounts, first);
    }
    const refusal =
      existingOrder !== undefined
        ? `order ${existingOrder.external_id} already earned its points with event ${existingOrder.paid_event_id}`
        : amounts?.conversion === "no_rate"
          ? `no exchange rate from ${amounts.currency} to ${shop.baseCurrency}: add one at /v1/exchange-rates`
          : cannotEarn(member);
    if (refusal !== null) {
      skip(refusal);
    } else if (member) {
      const rules = await session.activeRules(trx, body.type);
      const context = evaluationContext({
        shop,
        type: body.type,
        occurredAt,
        network: body.network ?? null,
        member,
        order: facts,
        tier: await tierContext(trx, shop.id, await session.tierProgram(trx), member.id),
      });
      const usage = await ruleUsage(trx, shop, member.id, rules, occurredAt);
      const evaluation = evaluateRules(rules, context, usage);
      Object.assign(explanation, evaluation);
      const label = body.order?.number ? `${body.type} ${body.order.number}` : body.type;
      const lines = await creditAwards(
        trx,
        { shop, event, memberId: member.id, rules, explanation: evaluation, actor: options.actor, label },
        now,
      );
      explanation.ledger = lines;
      event.points = lines.reduce((sum, line) => sum + (line.transaction_id ? line.points : 0), 0);
    }
    // An order Laurel could not value is not recorded, so it can earn once the shop adds a rate.
    const recordOrder = amounts !== null && amounts.conversion !== "no_rate" && existingOrder === undefined;
    if (body.type === "order.paid" && body.order && amounts && recordOrder) {
      order = {
        shop_id: shop.id,
        source,
        external_id: body.order.id,
        member_id: member?.id ?? null,
        status: "paid",
        currency: amounts.currency,
        total: amounts.total,
        subtotal: amounts.subtotal,
        shop_total: amounts.shop_total,
        refunded: 0,
        points_earned: event.points,
        points_reversed: 0,
        paid_event_id: event.id,
        paid_at: occurredAt,
        cancelled_at: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      await repository.insertOrder(trx, order);
      // The order's rewards: Laurel codes it used, and points held for its cart, are spent on it.
      explanation.notes.push(
        ...(await rewardsOnOrderPaid(
          trx,
          {
            shop,
            orderId: body.order.id,
            total: amounts.total,
            currency: amounts.currency,
            cartId: body.order.cart_id,
            discountCodes: body.order.discount_codes,
            actor: options.actor,
          },
          now,
        )),
      );
    }
    const program = await session.tierProgram(trx);
    if (program && member && refusal === null) {
      explanation.tier = await tierAfterEvent(
        trx,
        { shop, program, member, event, actor: options.actor, recordedOrder: order !== null },
        now,
      );
    }
  }
  event.explanation = JSON.stringify(explanation);
  // On PostgreSQL a concurrent request may have stored the same event since the lookup above: the
  // insert then waits for it and does nothing, and this event is undone and answered with that one.
  if (!(await repository.insertEvent(trx, event))) throw new LostDuplicateRace(source, body.external_id ?? "");
  return { event, duplicate: false, order };
}

/**
 * The tier side of an event that earned: the birthday gift of the member's tier on a birthday
 * event, then an upgrade if what the member did now qualifies them for more (or ends a grace period).
 */
async function tierAfterEvent(
  trx: Tx,
  input: {
    shop: Shop;
    program: StoredProgram;
    member: EventMember;
    event: EventsTable;
    actor: Actor;
    recordedOrder: boolean;
  },
  now: Date,
): Promise<NonNullable<EventExplanation["tier"]>> {
  const { shop, program, member, event } = input;
  const birthdayGift =
    event.type === "birthday"
      ? await grantBirthdayGift(trx, { shop, stored: program, memberId: member.id, event, actor: input.actor }, now)
      : null;
  if (birthdayGift?.transaction_id) event.points += birthdayGift.points;
  const tierMember = { id: member.id, since: member.joined_at ?? member.created_at };
  // Only what adds to the metrics can raise a tier: an order, or points.
  const change =
    input.recordedOrder || event.points > 0
      ? await evaluateAfterActivity(
          trx,
          { shop, stored: program, member: tierMember, eventId: event.id, actor: input.actor },
          now,
        )
      : null;
  const state = await memberTierState(trx, shop.id, program.program, member.id);
  return { key: state.tier.key, change, birthday_gift: birthdayGift };
}

/** Refunds and cancellations: take back the order's points in proportion to what was refunded. */
async function undoOrder(
  trx: Tx,
  input: {
    shop: Shop;
    body: EventBody;
    orderId: string;
    event: EventsTable;
    explanation: EventExplanation;
    options: IngestOptions;
    skip: (reason: string) => void;
  },
  now: Date,
): Promise<void> {
  const { shop, body, orderId, event, explanation, options } = input;
  // Under the order's row lock: two refunds of one order are counted one after the other.
  const order = await repository.lockOrder(trx, shop.id, event.source, orderId);
  if (!order) {
    input.skip(`no paid order ${orderId} from ${event.source} is known, so it earned nothing to take back`);
    return;
  }
  event.member_id = order.member_id;
  let refundedNow = 0;
  let target: number;
  if (body.type === "order.refunded") {
    const refund = body.refund as NonNullable<EventBody["refund"]>;
    refundedNow = Math.min(refund.amount, order.total - order.refunded);
    const refunded = order.refunded + refundedNow;
    target =
      order.total === 0
        ? order.points_earned
        : Number((BigInt(order.points_earned) * BigInt(refunded)) / BigInt(order.total));
    if (refundedNow < refund.amount) {
      explanation.notes.push(
        `the refunds exceed the order total; only ${refundedNow} of ${refund.amount} counted toward taking points back`,
      );
    }
  } else {
    target = order.points_earned;
    if (order.status === "cancelled") explanation.notes.push(`order ${orderId} was already cancelled`);
  }
  const reversedNow = Math.max(0, target - order.points_reversed);
  let result = { transactions: [] as string[], debt: 0 };
  if (reversedNow > 0) {
    const reason = body.type === "order.refunded" ? `Order ${orderId} refunded` : `Order ${orderId} cancelled`;
    result = await reverseOrderCredits(
      trx,
      { shopId: shop.id, order, amount: reversedNow, eventId: event.id, actor: options.actor, reason },
      now,
    );
  }
  explanation.clawback = {
    order_total: order.total,
    refunded_before: order.refunded,
    refunded_now: refundedNow,
    points_earned: order.points_earned,
    points_reversed_before: order.points_reversed,
    target_reversed: target,
    reversed_now: reversedNow,
    debt_recorded: result.debt,
    transactions: result.transactions,
  };
  event.points = -reversedNow;
  // Cancelled or wholly refunded: the points spent on the order follow the shop's refund policy.
  if (body.type === "order.cancelled" || order.refunded + refundedNow >= order.total) {
    explanation.notes.push(
      ...(await rewardsOnOrderUndone(trx, { shop, orderId, eventId: event.id, actor: options.actor }, now)),
    );
  }
  await trx
    .updateTable("orders")
    .set({
      refunded: order.refunded + refundedNow,
      points_reversed: order.points_reversed + reversedNow,
      status: body.type === "order.cancelled" ? "cancelled" : order.status,
      cancelled_at: body.type === "order.cancelled" ? (order.cancelled_at ?? event.occurred_at) : order.cancelled_at,
      updated_at: now.toISOString(),
    })
    .where("shop_id", "=", shop.id)
    .where("source", "=", order.source)
    .where("external_id", "=", order.external_id)
    .execute();
}

/** Another transaction stored the same (source, external_id) while this one worked on it. */
class LostDuplicateRace extends Error {
  constructor(
    readonly source: string,
    readonly externalId: string,
  ) {
    super(`event ${source}/${externalId} was stored concurrently`);
  }
}

/**
 * An event failed after it had written something, in a transaction without savepoints: only
 * undoing the whole transaction takes it back. The caller rolls back and runs again with savepoints.
 */
export class EventNeedsIsolation extends Error {
  constructor(override readonly cause: unknown) {
    super("an event failed after writing; run again with savepoints", { cause });
  }
}

/**
 * Runs a batch's events with an insert buffer. A database error there (often from the flush, where
 * it cannot say which event caused it) becomes EventNeedsIsolation: the run with a savepoint per
 * event, writing row by row, meets it at the event it belongs to.
 */
export async function buffered<T>(trx: Tx, work: () => Promise<T>): Promise<T> {
  try {
    return await withInsertBuffer(trx, work);
  } catch (error) {
    if (isAppError(error) || needsIsolation(error)) throw error;
    throw new EventNeedsIsolation(error);
  }
}

/** The first, unisolated run of a batch cannot stand: run it again with a savepoint per event. */
export function needsIsolation(error: unknown): boolean {
  return error instanceof EventNeedsIsolation || error instanceof repository.EventsStoredConcurrently;
}

/** Lost races with a concurrent transaction: running the event again finds what the other one stored. */
function isRace(error: unknown): boolean {
  return error instanceof LostDuplicateRace || isUniqueViolation(error) || isIdentifierRace(error);
}

/**
 * identifier_taken while writing: on PostgreSQL another request committed the identifier after
 * this event found it free, and before the member was created with it. Running the event again
 * finds that member.
 */
function isIdentifierRace(error: unknown): boolean {
  return isAppError(error) && error.code === "identifier_taken";
}

const savepoint = sql`savepoint laurel_event`;
const releaseSavepoint = sql`release savepoint laurel_event`;
const rollbackToSavepoint = sql`rollback to savepoint laurel_event`;

/** The answer for a processed event, remembered by the session once it is stored for good. */
function settled(session: IngestSession, result: IngestResult & { order?: OrdersTable | null }): IngestResult {
  if (!result.duplicate) session.remember(result.event, result.order ?? null);
  return { event: result.event, duplicate: result.duplicate };
}

/**
 * Runs one event in the caller's transaction. With `session.isolation` "savepoints" (webhooks,
 * retried batches) each event gets one, so a refused event leaves nothing behind while the rest go
 * on, and a lost race is run again. With "none" (single events, first try of a batch) a refusal
 * before any write is thrown as it is; a failure after one is `EventNeedsIsolation`.
 */
export async function ingestInTransaction(
  trx: Tx,
  session: IngestSession,
  body: EventBody,
  options: IngestOptions,
  now: Date,
): Promise<IngestResult> {
  if (session.isolation === "none") {
    session.wrote = false;
    try {
      return settled(session, await processEvent(trx, session, body, options, now));
    } catch (error) {
      if (session.wrote) throw new EventNeedsIsolation(error);
      throw error;
    }
  }
  for (let attempt = 1; ; attempt++) {
    // One fixed name (events never nest), so each dialect prepares these statements once.
    await savepoint.execute(trx);
    try {
      const result = await processEvent(trx, session, body, options, now);
      await releaseSavepoint.execute(trx);
      return settled(session, result);
    } catch (error) {
      await rollbackToSavepoint.execute(trx);
      await releaseSavepoint.execute(trx);
      if (error instanceof LostDuplicateRace) {
        const existing = await repository.findEvent(trx, session.shopId, error.source, error.externalId);
        if (existing) return duplicateOf(existing, body.type, options.pointer);
      }
      if (!((isUniqueViolation(error) || isIdentifierRace(error)) && attempt < 3)) throw error;
    }
  }
}

/** One event in its own transaction (POST /v1/events): the transaction is the event's isolation. */
export async function ingestEvent(
  database: DatabaseHandle,
  shopId: string,
  body: EventBody,
  options: Omit<IngestOptions, "pointer"> & { pointer?: string },
  now: Date,
): Promise<IngestResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(database, (trx) =>
        ingestInTransaction(trx, new IngestSession(shopId, "none"), body, { pointer: "/body", ...options }, now),
      );
    } catch (error) {
      const cause = error instanceof EventNeedsIsolation ? error.cause : error;
      if (!(isRace(cause) && attempt < 3)) throw cause;
    }
  }
}

export type BatchItem = { index: number; result: IngestResult } | { index: number; error: AppError };

/**
 * Events in one database transaction, in the order sent: a refused event is reported at its index
 * and the others are stored. The first try runs without savepoints (they cost about as much as the
 * event's own writes); if an event fails after it has written something, the whole transaction is
 * rolled back and the batch runs again with a savepoint per event.
 */
export async function ingestEventsInTransaction(
  database: DatabaseHandle,
  shopId: string,
  bodies: readonly EventBody[],
  options: Omit<IngestOptions, "pointer"> & { pointerOf?: (index: number) => string },
  now: Date,
  extra?: (trx: Tx, items: BatchItem[]) => Promise<void>,
): Promise<BatchItem[]> {
  const pointerOf = options.pointerOf ?? ((index: number) => `/body/events/${index}`);
  const ingestAll = async (trx: Tx, session: IngestSession) => {
    const items: BatchItem[] = [];
    for (const [index, body] of bodies.entries()) {
      try {
        const result = await ingestInTransaction(trx, session, body, { ...options, pointer: pointerOf(index) }, now);
        items.push({ index, result });
      } catch (error) {
        if (!isAppError(error)) throw error;
        items.push({ index, error });
      }
    }
    return items;
  };
  const run = (isolation: "savepoints" | "none") =>
    withTransaction(database, async (trx) => {
      const session = new IngestSession(shopId, isolation);
      // Without savepoints, the rows nothing reads back during the batch wait in a buffer and go
      // in as multi-row inserts at the end (or when a refund or a limit needs them).
      const items =
        isolation === "none" ? await buffered(trx, () => ingestAll(trx, session)) : await ingestAll(trx, session);
      if (extra) await extra(trx, items);
      return items;
    });
  try {
    return await run("none");
  } catch (error) {
    if (!needsIsolation(error)) throw error;
    return run("savepoints");
  }
}

/** Up to 1,000 events from `POST /v1/events/batch`. */
export async function ingestBatch(
  database: DatabaseHandle,
  shopId: string,
  bodies: readonly EventBody[],
  options: Omit<IngestOptions, "pointer">,
  now: Date,
): Promise<BatchItem[]> {
  return ingestEventsInTransaction(database, shopId, bodies, options, now);
}
