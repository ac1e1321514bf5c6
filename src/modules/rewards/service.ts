import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, type FieldError, isAppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { writeOutboxEvents } from "../../platform/outbox.js";
import { type Actor, debitPoints, lockMemberAccount, reverseTransaction } from "../ledger/index.js";
import { getMember } from "../members/index.js";
import type { Money } from "../rules/index.js";
import type { Shop } from "../shops/index.js";
import { getProgram, memberTierState } from "../tiers/index.js";
import {
  canonicalNames,
  checkRewardSettings,
  defaultCodeExpiryDays,
  priceOf,
  type Reward,
  type RewardSettings,
} from "./catalog.js";
import { type Cart, type CodeDecision, decide, type IssuedReward, newCode, normalizeCode } from "./codes.js";
import { changeStoreCredit } from "./store-credit.js";
import type { RedemptionsTable, RewardStatus, RewardsTable, RewardType } from "./tables.js";

const day = 24 * 60 * 60 * 1000;

export interface DraftValue {
  amounts?: Money[] | undefined;
  percent?: number | undefined;
  max_amounts?: Money[] | undefined;
  variant_id?: string | undefined;
  product_id?: string | undefined;
  instructions?: string | undefined;
}

/** The value fields each type takes; any other is refused. */
const valueFields: Record<RewardType, Array<keyof DraftValue>> = {
  amount_off: ["amounts"],
  store_credit: ["amounts"],
  percent_off: ["percent", "max_amounts"],
  free_shipping: ["max_amounts"],
  free_product: ["variant_id", "product_id"],
  custom: ["instructions"],
};

/** A reward as created or changed through the API: settings may be left out and take defaults. */
export interface RewardDraft {
  type: RewardType;
  name: Record<string, string>;
  description?: Record<string, string> | undefined;
  image_url?: string | null | undefined;
  /** The fields the type needs (amounts, percent, max_amounts, variant_id, instructions). */
  value: DraftValue;
  cost:
    | { type: "fixed"; points: number }
    | (Omit<Extract<RewardSettings["cost"], { type: "variable" }>, "step_points"> & {
        step_points?: number | undefined;
      });
  min_order?: Money[] | undefined;
  eligibility?: { tiers?: string[] | null | undefined; first_redemption_only?: boolean | undefined } | undefined;
  per_member_limit?: number | null | undefined;
  stock?: number | null | undefined;
  starts_at?: string | null | undefined;
  ends_at?: string | null | undefined;
  code?: { prefix?: string | undefined; expires_in_days?: number | null | undefined } | undefined;
  enabled?: boolean | undefined;
}

/** `redeemed`: the redemptions not cancelled, counted by the caller (see redemptionCounts). */
export function toReward(row: RewardsTable, redeemed: number): Reward {
  const settings = JSON.parse(row.settings) as RewardSettings;
  return {
    id: row.id,
    shopId: row.shop_id,
    status: row.status,
    type: row.type,
    name: JSON.parse(row.name) as Record<string, string>,
    description: JSON.parse(row.description) as Record<string, string>,
    imageUrl: row.image_url,
    ...settings,
    stock: row.stock_total === null ? null : { total: Number(row.stock_total), remaining: Number(row.stock_remaining) },
    redeemed,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function settingsOf(draft: RewardDraft): RewardSettings {
  const cost: RewardSettings["cost"] =
    draft.cost.type === "fixed"
      ? { type: "fixed", points: draft.cost.points }
      : { ...draft.cost, step_points: draft.cost.step_points ?? draft.cost.points_per_unit };
  const value = draft.value;
  // Optional lists default to empty, so every stored reward has the same shape.
  const normalizedValue: RewardSettings["value"] =
    draft.type === "amount_off" || draft.type === "store_credit"
      ? { amounts: value.amounts ?? [] }
      : draft.type === "percent_off"
        ? { percent: value.percent as number, max_amounts: value.max_amounts ?? [] }
        : draft.type === "free_shipping"
          ? { max_amounts: value.max_amounts ?? [] }
          : draft.type === "free_product"
            ? { variant_id: value.variant_id as string, product_id: value.product_id ?? null }
            : { instructions: value.instructions as string };
  return {
    value: normalizedValue,
    cost,
    min_order: draft.min_order ?? [],
    eligibility: {
      tiers: draft.eligibility?.tiers ?? null,
      first_redemption_only: draft.eligibility?.first_redemption_only ?? false,
    },
    per_member_limit: draft.per_member_limit ?? null,
    code: {
      prefix: draft.code?.prefix ?? "",
      expires_in_days: draft.code?.expires_in_days === undefined ? defaultCodeExpiryDays : draft.code.expires_in_days,
    },
  };
}

function checkDraft(draft: RewardDraft, shop: Shop, pointer = "/body"): RewardSettings {
  const errors: FieldError[] = [];
  const allowed = valueFields[draft.type];
  for (const field of Object.keys(draft.value) as Array<keyof DraftValue>) {
    if (!allowed.includes(field)) {
      errors.push({
        pointer: `${pointer}/value/${field}`,
        message: `does not apply to a ${draft.type} reward (it takes ${allowed.join(", ")})`,
      });
    }
  }
  const required = { percent_off: "percent", free_product: "variant_id", custom: "instructions" } as const;
  const needed = required[draft.type as keyof typeof required];
  if (needed && draft.value[needed] === undefined) {
    errors.push({ pointer: `${pointer}/value/${needed}`, message: `is required for a ${draft.type} reward` });
  }
  if (errors.length > 0) throw new AppError("validation_failed", "The reward is not valid", { errors });
  const settings = settingsOf(draft);
  errors.push(
    ...checkRewardSettings(
      draft.type,
      settings,
      { name: draft.name, description: draft.description ?? {} },
      shop.baseCurrency,
      pointer,
    ),
  );
  if (draft.starts_at && draft.ends_at && Date.parse(draft.starts_at) >= Date.parse(draft.ends_at)) {
    errors.push({ pointer: `${pointer}/ends_at`, message: "must be after starts_at" });
  }
  if (errors.length > 0) throw new AppError("validation_failed", "The reward is not valid", { errors });
  return settings;
}

const isoOrNull = (value: string | null | undefined) => (value ? new Date(value).toISOString() : null);

/**
 * Tier keys must name tiers of the shop's program, when it has one (a shop may set up rewards
 * before its tiers). A tier removed from the program later leaves the reward to the tiers that remain.
 */
async function checkTierKeys(trx: Tx, shopId: string, draft: RewardDraft): Promise<void> {
  const keys = draft.eligibility?.tiers;
  if (!keys) return;
  const stored = await getProgram(trx, shopId);
  if (!stored) return;
  const known = new Set(stored.program.tiers.map((tier) => tier.key));
  const errors: FieldError[] = keys.flatMap((key, index) =>
    known.has(key)
      ? []
      : [
          {
            pointer: `/body/eligibility/tiers/${index}`,
            message: `"${key}" is not a tier of the program (${[...known].join(", ")})`,
          },
        ],
  );
  if (errors.length > 0) throw new AppError("validation_failed", "The reward is not valid", { errors });
}

export async function createReward(trx: Tx, shop: Shop, draft: RewardDraft, now: Date): Promise<Reward> {
  const settings = checkDraft(draft, shop);
  await checkTierKeys(trx, shop.id, draft);
  const at = now.toISOString();
  const row: RewardsTable = {
    shop_id: shop.id,
    id: newId("reward", now),
    status: draft.enabled === false ? "disabled" : "active",
    type: draft.type,
    name: JSON.stringify(canonicalNames(draft.name)),
    description: JSON.stringify(canonicalNames(draft.description ?? {})),
    image_url: draft.image_url ?? null,
    settings: JSON.stringify(settings),
    stock_total: draft.stock ?? null,
    stock_remaining: draft.stock ?? null,
    starts_at: isoOrNull(draft.starts_at),
    ends_at: isoOrNull(draft.ends_at),
    version: 1,
    created_at: at,
    updated_at: at,
  };
  await trx.insertInto("rewards").values(row).execute();
  return toReward(row, 0);
}

async function findRewardRow(db: Kysely<Database>, shopId: string, rewardId: string): Promise<RewardsTable> {
  const row = await db
    .selectFrom("rewards")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", rewardId)
    .executeTakeFirst();
  if (!row) throw new AppError("reward_not_found", `No reward ${rewardId} in this shop`);
  return row;
}

export async function getReward(db: Kysely<Database>, shopId: string, rewardId: string): Promise<Reward> {
  const row = await findRewardRow(db, shopId, rewardId);
  return toReward(row, (await redemptionCounts(db, shopId, [row.id])).get(row.id) ?? 0);
}

/** Redemptions not cancelled, per reward, in one grouped query over the reward index. */
async function redemptionCounts(
  db: Kysely<Database>,
  shopId: string,
  rewardIds: string[],
): Promise<Map<string, number>> {
  if (rewardIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("redemptions")
    .select(["reward_id", (eb) => eb.fn.countAll<number | string>().as("count")])
    .where("shop_id", "=", shopId)
    .where("reward_id", "in", rewardIds)
    .where("status", "!=", "cancelled")
    .groupBy("reward_id")
    .execute();
  return new Map(rows.map((row) => [row.reward_id, Number(row.count)]));
}

async function withCounts(db: Kysely<Database>, shopId: string, rows: RewardsTable[]): Promise<Reward[]> {
  const counts = await redemptionCounts(
    db,
    shopId,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toReward(row, counts.get(row.id) ?? 0));
}

/**
 * Replaces a reward's definition (type included) as a new version. Codes already issued keep what
 * they were issued with. Stock given here resets what remains to it, less nothing: it is the new
 * number left to redeem.
 */
export async function updateReward(
  trx: Tx,
  shop: Shop,
  rewardId: string,
  draft: RewardDraft,
  now: Date,
): Promise<Reward> {
  const current = await findRewardRow(trx, shop.id, rewardId);
  if (current.status === "archived") throw new AppError("reward_unavailable", `Reward ${rewardId} is archived`);
  const settings = checkDraft(draft, shop);
  await checkTierKeys(trx, shop.id, draft);
  const changes: Partial<RewardsTable> = {
    type: draft.type,
    name: JSON.stringify(canonicalNames(draft.name)),
    description: JSON.stringify(canonicalNames(draft.description ?? {})),
    image_url: draft.image_url ?? null,
    settings: JSON.stringify(settings),
    stock_total: draft.stock === undefined ? current.stock_total : draft.stock,
    stock_remaining: draft.stock === undefined ? current.stock_remaining : draft.stock,
    starts_at: isoOrNull(draft.starts_at),
    ends_at: isoOrNull(draft.ends_at),
    version: current.version + 1,
    updated_at: now.toISOString(),
  };
  if (draft.enabled !== undefined) changes.status = draft.enabled ? "active" : "disabled";
  await trx.updateTable("rewards").set(changes).where("shop_id", "=", shop.id).where("id", "=", rewardId).execute();
  return getReward(trx, shop.id, rewardId);
}

export async function setRewardStatus(
  trx: Tx,
  shopId: string,
  rewardId: string,
  status: RewardStatus,
  now: Date,
): Promise<Reward> {
  const current = await findRewardRow(trx, shopId, rewardId);
  if (current.status === "archived" && status !== "archived") {
    throw new AppError("reward_unavailable", `Reward ${rewardId} is archived and cannot be enabled again`);
  }
  await trx
    .updateTable("rewards")
    .set({ status, updated_at: now.toISOString() })
    .where("shop_id", "=", shopId)
    .where("id", "=", rewardId)
    .execute();
  return getReward(trx, shopId, rewardId);
}

export async function listRewards(
  db: Kysely<Database>,
  shopId: string,
  filter: { limit: number; before?: string | undefined; status?: RewardStatus | undefined },
): Promise<Reward[]> {
  let query = db.selectFrom("rewards").selectAll().where("shop_id", "=", shopId);
  query = filter.status ? query.where("status", "=", filter.status) : query.where("status", "!=", "archived");
  if (filter.before) query = query.where("id", "<", filter.before);
  const rows = await query.orderBy("id", "desc").limit(filter.limit).execute();
  return withCounts(db, shopId, rows);
}

/** Why a member cannot redeem a reward now, or null. Checked under the member's lock. */
async function refusal(trx: Tx, shopId: string, reward: Reward, memberId: string, now: Date): Promise<AppError | null> {
  const at = now.toISOString();
  if (reward.status !== "active") return new AppError("reward_unavailable", `Reward ${reward.id} is ${reward.status}`);
  if (reward.startsAt !== null && at < reward.startsAt) {
    return new AppError("reward_unavailable", `Reward ${reward.id} can be redeemed from ${reward.startsAt}`);
  }
  if (reward.endsAt !== null && at >= reward.endsAt) {
    return new AppError("reward_unavailable", `Reward ${reward.id} could be redeemed until ${reward.endsAt}`);
  }
  if (reward.eligibility.tiers !== null) {
    const program = await getProgram(trx, shopId);
    const tier = program ? (await memberTierState(trx, shopId, program.program, memberId)).tier.key : null;
    if (tier === null || !reward.eligibility.tiers.includes(tier)) {
      return new AppError(
        "reward_unavailable",
        `Reward ${reward.id} is for members of the ${reward.eligibility.tiers.join(", ")} tier(s); the member is ${tier ?? "in no tier"}`,
      );
    }
  }
  if (reward.eligibility.first_redemption_only && (await countRedemptions(trx, shopId, memberId, null)) > 0) {
    return new AppError("reward_unavailable", `Reward ${reward.id} is only for a member's first redemption`);
  }
  if (
    reward.per_member_limit !== null &&
    (await countRedemptions(trx, shopId, memberId, reward.id)) >= reward.per_member_limit
  ) {
    return new AppError(
      "redemption_limit_reached",
      `The member has redeemed reward ${reward.id} ${reward.per_member_limit} time(s), as many as it allows`,
    );
  }
  return null;
}

/** Redemptions that count toward limits: every one not cancelled. */
async function countRedemptions(trx: Tx, shopId: string, memberId: string, rewardId: string | null): Promise<number> {
  let query = trx
    .selectFrom("redemptions")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("status", "!=", "cancelled");
  if (rewardId !== null) query = query.where("reward_id", "=", rewardId);
  return Number((await query.executeTakeFirstOrThrow()).count);
}

export interface RedeemInput {
  shop: Shop;
  memberId: string;
  rewardId: string;
  /** For a variable cost: the points to spend (default its minimum). */
  points?: number | undefined;
  actor: Actor;
}

/**
 * Spends the member's points on a reward and issues it, all in the caller's transaction: the
 * member's lock, the eligibility and limit checks, the ledger debit, a unique code (or store
 * credit), one unit of stock, then the `reward.redeemed` event. Any refusal leaves nothing.
 */
export async function redeemReward(trx: Tx, input: RedeemInput, now: Date): Promise<RedemptionsTable> {
  const { shop, memberId } = input;
  const member = await getMember(trx, shop.id, memberId);
  if (member.status !== "active") {
    throw new AppError("reward_unavailable", `The member is ${member.status}: only active members redeem rewards`);
  }
  await lockMemberAccount(trx, shop.id, memberId);
  // Not getReward: the redemption needs no count of the reward's redemptions.
  const reward = toReward(await findRewardRow(trx, shop.id, input.rewardId), 0);
  const refused = await refusal(trx, shop.id, reward, memberId, now);
  if (refused) throw refused;
  const price = priceOf(reward, input.points);
  if (price.error)
    throw new AppError("validation_failed", "The points do not fit the reward's price", { errors: [price.error] });
  const outOfStock = () => new AppError("out_of_stock", `Reward ${reward.id} is out of stock`);
  if (reward.stock !== null && reward.stock.remaining <= 0) throw outOfStock();

  const id = newId("redemption", now);
  const { transaction } = await debitPoints(
    trx,
    {
      shopId: shop.id,
      memberId,
      type: "redeem",
      amount: price.points,
      reason: `Redeemed ${reward.name[Object.keys(reward.name)[0] as string] ?? reward.id}`,
      reference: id,
      metadata: { redemption_id: id, reward_id: reward.id },
      actor: input.actor,
    },
    now,
  ).catch((error: unknown) => {
    // The ledger points at its own /body/amount; this request has no such field.
    if (isAppError(error) && error.code === "insufficient_points") {
      const pointer = reward.cost.type === "variable" ? "/body/points" : "/body/reward_id";
      throw new AppError("insufficient_points", error.message, {
        errors: [{ pointer, message: `costs ${price.points} points, more than the member has available` }],
      });
    }
    throw error;
  });
  const issued: IssuedReward = {
    reward_id: reward.id,
    version: reward.version,
    type: reward.type,
    name: reward.name,
    // A variable price fixes the amount now, from the points spent.
    value: price.amount ? { amounts: [price.amount] } : reward.value,
    min_order: reward.min_order,
  };
  const at = now.toISOString();
  const row: RedemptionsTable = {
    shop_id: shop.id,
    id,
    reward_id: reward.id,
    member_id: memberId,
    status: "issued",
    points: price.points,
    transaction_id: transaction.id,
    refund_transaction_id: null,
    reward: JSON.stringify(issued),
    code: null,
    code_expires_at:
      reward.type === "store_credit" || reward.code.expires_in_days === null
        ? null
        : new Date(now.getTime() + reward.code.expires_in_days * day).toISOString(),
    order_id: null,
    used_at: null,
    cancelled_at: null,
    cancel_reason: null,
    created_at: at,
    updated_at: at,
  };
  if (reward.type === "store_credit") {
    const amount = (issued.value as { amounts: Money[] }).amounts[0] as Money;
    await changeStoreCredit(
      trx,
      { shopId: shop.id, memberId, amount, redemptionId: id, reason: "Redeemed points" },
      now,
    );
    row.status = "used";
    row.used_at = at;
    await trx.insertInto("redemptions").values(row).execute();
  } else {
    await insertWithNewCode(trx, row, reward.code.prefix);
  }
  // Stock is taken last, by a conditional update: of two redemptions racing for the last unit one
  // updates the row and the other undoes its whole transaction (never a partial state). The row is
  // locked until commit, so it is taken as late as possible; a reward without stock is never written.
  if (reward.stock !== null) {
    const taken = await trx
      .updateTable("rewards")
      .set((eb) => ({ stock_remaining: eb("stock_remaining", "-", 1) }))
      .where("shop_id", "=", shop.id)
      .where("id", "=", reward.id)
      .where("stock_remaining", ">", 0)
      .returning("id")
      .execute();
    if (taken.length === 0) throw outOfStock();
  }
  await writeOutboxEvents(
    trx,
    shop.id,
    [
      {
        type: "reward.redeemed",
        subjectType: "member",
        subjectId: memberId,
        data: {
          member_id: memberId,
          redemption_id: id,
          reward_id: reward.id,
          points: price.points,
          code: row.code,
          issued,
        },
      },
    ],
    now,
  );
  return row;
}

/**
 * A unique code is all but certain at the first draw (58 random bits); one that exists draws again.
 * The insert itself is the check (one round trip): a code taken, now or by a concurrent
 * transaction, inserts nothing and the loop draws another.
 */
async function insertWithNewCode(trx: Tx, row: RedemptionsTable, prefix: string): Promise<void> {
  for (;;) {
    row.code = newCode(prefix);
    const inserted = await trx
      .insertInto("redemptions")
      .values(row)
      .onConflict((conflict) => conflict.columns(["shop_id", "code"]).doNothing())
      .returning("id")
      .execute();
    if (inserted.length === 1) return;
  }
}

export async function getRedemption(
  db: Kysely<Database>,
  shopId: string,
  redemptionId: string,
): Promise<RedemptionsTable> {
  const row = await db
    .selectFrom("redemptions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", redemptionId)
    .executeTakeFirst();
  if (!row) throw new AppError("redemption_not_found", `No redemption ${redemptionId} in this shop`);
  return row;
}

export async function listRedemptions(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
  page: { limit: number; before?: string | undefined },
): Promise<RedemptionsTable[]> {
  await getMember(db, shopId, memberId);
  let query = db.selectFrom("redemptions").selectAll().where("shop_id", "=", shopId).where("member_id", "=", memberId);
  if (page.before) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

/**
 * Cancels a redemption whose code was not used: the points come back (the ledger reverses the
 * spend, to the lots it came from), the stock unit returns, and `redemption.cancelled` goes out.
 * Store credit is taken back from the balance, if the member still has it.
 */
export async function cancelRedemption(
  trx: Tx,
  input: { shopId: string; redemptionId: string; reason: string; actor: Actor },
  now: Date,
): Promise<RedemptionsTable> {
  const found = await getRedemption(trx, input.shopId, input.redemptionId);
  await lockMemberAccount(trx, input.shopId, found.member_id);
  const row = await getRedemption(trx, input.shopId, input.redemptionId);
  const issued = JSON.parse(row.reward) as IssuedReward;
  if (row.status === "cancelled") {
    throw new AppError("redemption_not_cancellable", `Redemption ${row.id} is already cancelled`);
  }
  if (issued.type === "store_credit") {
    const amount = (issued.value as { amounts: Money[] }).amounts[0] as Money;
    await changeStoreCredit(
      trx,
      {
        shopId: row.shop_id,
        memberId: row.member_id,
        amount: { ...amount, amount: -amount.amount },
        redemptionId: row.id,
        reason: input.reason,
      },
      now,
    );
  } else if (row.status === "used") {
    throw new AppError(
      "redemption_not_cancellable",
      `The code of redemption ${row.id} was used on order ${row.order_id}`,
    );
  }
  const { transaction } = await reverseTransaction(
    trx,
    {
      shopId: row.shop_id,
      transactionId: row.transaction_id,
      reason: input.reason,
      reference: row.id,
      actor: input.actor,
    },
    now,
  );
  await trx
    .updateTable("rewards")
    .set((eb) => ({ stock_remaining: eb("stock_remaining", "+", 1) }))
    .where("shop_id", "=", row.shop_id)
    .where("id", "=", row.reward_id)
    .where("stock_remaining", "is not", null)
    .execute();
  const at = now.toISOString();
  const cancelled: RedemptionsTable = {
    ...row,
    status: "cancelled",
    refund_transaction_id: transaction.id,
    cancelled_at: at,
    cancel_reason: input.reason,
    updated_at: at,
  };
  // Conditional on the status read: a consume that committed meanwhile (it takes no member lock)
  // makes this update miss, and the whole cancellation rolls back.
  const updated = await trx
    .updateTable("redemptions")
    .set({
      status: "cancelled",
      refund_transaction_id: transaction.id,
      cancelled_at: at,
      cancel_reason: input.reason,
      updated_at: at,
    })
    .where("shop_id", "=", row.shop_id)
    .where("id", "=", row.id)
    .where("status", "=", row.status)
    .returning("id")
    .execute();
  if (updated.length === 0) {
    throw new AppError("redemption_not_cancellable", `Redemption ${row.id} changed while it was being cancelled`);
  }
  await writeOutboxEvents(
    trx,
    row.shop_id,
    [
      {
        type: "redemption.cancelled",
        subjectType: "member",
        subjectId: row.member_id,
        data: {
          member_id: row.member_id,
          redemption_id: row.id,
          reward_id: row.reward_id,
          points_refunded: row.points,
          reason: input.reason,
        },
      },
    ],
    now,
  );
  return cancelled;
}

// ---------------------------------------------------------------------------------------------
// Checkout: what a code is worth on a cart, using it on an order, and giving it back.

async function findByCode(db: Kysely<Database>, shopId: string, code: string): Promise<RedemptionsTable> {
  const row = await db
    .selectFrom("redemptions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("code", "=", normalizeCode(code))
    .executeTakeFirst();
  if (!row)
    throw new AppError("code_not_found", "No such code in this shop", {
      errors: [{ pointer: "/body/code", message: "is not a code of this shop" }],
    });
  return row;
}

export interface CodeCheck {
  redemption: RedemptionsTable;
  decision: CodeDecision;
}

function check(
  row: RedemptionsTable,
  cart: Cart,
  memberId: string | undefined,
  orderId: string | undefined,
  now: Date,
): CodeDecision {
  const refuse = (reason: string): CodeDecision => ({
    applies: false,
    reason,
    discount: null,
    free_shipping: null,
    free_product: null,
    instructions: null,
  });
  if (row.status === "cancelled") return refuse("the redemption was cancelled");
  if (row.status === "used" && row.order_id !== orderId) return refuse(`the code was used on order ${row.order_id}`);
  if (row.code_expires_at !== null && now.toISOString() >= row.code_expires_at) {
    return refuse(`the code expired at ${row.code_expires_at}`);
  }
  if (memberId !== undefined && memberId !== row.member_id) return refuse("the code belongs to another member");
  return decide(JSON.parse(row.reward) as IssuedReward, cart);
}

/** What a code is worth on a cart, or why it does not apply. Reads only. */
export async function validateCode(
  db: Kysely<Database>,
  input: { shopId: string; code: string; cart: Cart; memberId?: string | undefined },
  now: Date,
): Promise<CodeCheck> {
  const row = await findByCode(db, input.shopId, input.code);
  return { redemption: row, decision: check(row, input.cart, input.memberId, undefined, now) };
}

/**
 * Uses a code on an order, once. The same order again answers as the first time (a retry); another
 * order is 409 `code_already_used`. A code that does not apply to the cart is 422 with the reason,
 * unless `enforceConditions` is false: a paid order the platform already discounted with it.
 */
export async function consumeCode(
  trx: Tx,
  input: {
    shopId: string;
    code: string;
    orderId: string;
    cart: Cart;
    memberId?: string | undefined;
    enforceConditions?: boolean | undefined;
  },
  now: Date,
): Promise<CodeCheck & { replayed: boolean }> {
  const row = await findByCode(trx, input.shopId, input.code);
  if (row.status === "used" && row.order_id === input.orderId) {
    // As of its use: a retry after the code expired still gets the first answer.
    const usedAt = new Date(row.used_at ?? now);
    return { redemption: row, decision: check(row, input.cart, input.memberId, input.orderId, usedAt), replayed: true };
  }
  if (row.status === "used") {
    throw new AppError("code_already_used", `The code was used on order ${row.order_id}`);
  }
  const decision = check(row, input.cart, input.memberId, undefined, now);
  // A cancelled code gave its points back: no order may use it, whoever applied it.
  if (!decision.applies && (input.enforceConditions !== false || row.status === "cancelled")) {
    throw new AppError("invalid_field_value", `The code does not apply: ${decision.reason}`, {
      errors: [{ pointer: "/body/code", message: decision.reason ?? "does not apply" }],
    });
  }
  const at = now.toISOString();
  // Conditional on the code still being unused: of two concurrent consumes, one updates a row.
  const updated = await trx
    .updateTable("redemptions")
    .set({ status: "used", order_id: input.orderId, used_at: at, updated_at: at })
    .where("shop_id", "=", input.shopId)
    .where("id", "=", row.id)
    .where("status", "=", "issued")
    .returning("id")
    .execute();
  if (updated.length === 0) {
    const winner = await findByCode(trx, input.shopId, input.code);
    if (winner.status === "used" && winner.order_id === input.orderId)
      return { redemption: winner, decision, replayed: true };
    if (winner.status === "cancelled") {
      throw new AppError("invalid_field_value", "The code does not apply: the redemption was cancelled", {
        errors: [{ pointer: "/body/code", message: "the redemption was cancelled" }],
      });
    }
    throw new AppError("code_already_used", `The code was used on order ${winner.order_id}`);
  }
  const used = { ...row, status: "used" as const, order_id: input.orderId, used_at: at, updated_at: at };
  await writeOutboxEvents(
    trx,
    input.shopId,
    [
      {
        type: "code.consumed",
        subjectType: "member",
        subjectId: row.member_id,
        data: {
          member_id: row.member_id,
          redemption_id: row.id,
          code: row.code,
          order_id: input.orderId,
          discount: decision.discount,
        },
      },
    ],
    now,
  );
  return { redemption: used, decision, replayed: false };
}

/** Gives a used code back (the order was abandoned or cancelled before it shipped): usable again. */
export async function releaseCode(
  trx: Tx,
  input: { shopId: string; code: string; orderId: string },
  now: Date,
): Promise<RedemptionsTable> {
  const row = await findByCode(trx, input.shopId, input.code);
  if (row.status === "issued") return row;
  if (row.status !== "used" || row.order_id !== input.orderId) {
    throw new AppError(
      "code_already_used",
      `The code is ${row.status === "used" ? `used on order ${row.order_id}` : row.status}, not on order ${input.orderId}`,
    );
  }
  const at = now.toISOString();
  await trx
    .updateTable("redemptions")
    .set({ status: "issued", order_id: null, used_at: null, updated_at: at })
    .where("shop_id", "=", input.shopId)
    .where("id", "=", row.id)
    .where("status", "=", "used")
    .execute();
  return { ...row, status: "issued", order_id: null, used_at: null, updated_at: at };
}

export interface RewardForMember {
  reward: Reward;
  affordable: boolean;
  eligible: boolean;
  ineligibleReason: string | null;
  pointsNeeded: number;
}

/**
 * The active rewards in their window, each with whether the member can afford it (at its lowest
 * price) and may redeem it, and the points still missing. Reads only; nothing is locked.
 */
export async function rewardsForMember(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
  availablePoints: number,
  now: Date,
): Promise<RewardForMember[]> {
  const member = await getMember(db, shopId, memberId);
  const inactive =
    member.status === "active"
      ? null
      : new AppError("reward_unavailable", `The member is ${member.status}: only active members redeem rewards`);
  const at = now.toISOString();
  const rows = await db
    .selectFrom("rewards")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("status", "=", "active")
    .where((eb) => eb.or([eb("starts_at", "is", null), eb("starts_at", "<=", at)]))
    .where((eb) => eb.or([eb("ends_at", "is", null), eb("ends_at", ">", at)]))
    .orderBy("id", "desc")
    .limit(500)
    .execute();
  const result: RewardForMember[] = [];
  for (const reward of await withCounts(db, shopId, rows)) {
    const price = reward.cost.type === "fixed" ? reward.cost.points : reward.cost.min_points;
    const refused =
      inactive ??
      (reward.stock !== null && reward.stock.remaining <= 0
        ? new AppError("out_of_stock", "out of stock")
        : await refusal(db, shopId, reward, memberId, now));
    result.push({
      reward,
      affordable: availablePoints >= price,
      eligible: refused === null,
      ineligibleReason: refused?.message ?? null,
      pointsNeeded: Math.max(0, price - availablePoints),
    });
  }
  return result;
}
