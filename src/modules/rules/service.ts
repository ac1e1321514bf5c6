import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, type FieldError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { writeOutboxEvents } from "../../platform/outbox.js";
import type { Condition } from "./conditions.js";
import { type RuleDefinition, validateRule } from "./evaluate.js";
import type { RuleLimit } from "./limits.js";
import type { Multiplier, Reward } from "./rewards.js";
import type { EarningRulesTable, EarningRuleVersionsTable, RuleStatus } from "./tables.js";

/** Earning points expire this many months after they were earned unless a rule says otherwise. */
export const defaultExpiryMonths = 12;
export const maxPendingDays = 365;
export const maxExpiryMonths = 120;

/** What a rule stores besides its name and trigger: the part that decides points, and when they count. */
export interface RuleSettings {
  conditions: Condition | null;
  reward: Reward;
  multipliers: Multiplier[];
  max_points_per_event: number | null;
  limits: RuleLimit[];
  /** Points stay pending this many days (a return window) before they can be spent; 0: at once. */
  pending_days: number;
  /** Points expire this many months after the event; null: never. */
  expiry_months: number | null;
}

export interface EarningRule extends RuleSettings {
  id: string;
  shopId: string;
  status: RuleStatus;
  version: number;
  name: string;
  eventType: string;
  createdAt: string;
  updatedAt: string;
}

/** A rule as the evaluator and the ledger writer need it. */
export interface ActiveRule extends RuleDefinition {
  pending_days: number;
  expiry_months: number | null;
}

/** The body of a rule, as POSTed (or PATCHed, every field optional) and as previewed. */
export interface RuleDraft {
  name?: string | undefined;
  event_type?: string | undefined;
  conditions?: unknown;
  reward?: unknown;
  multipliers?: unknown;
  max_points_per_event?: unknown;
  limits?: unknown;
  pending_days?: number | undefined;
  expiry_months?: number | null | undefined;
}

function toRule(row: EarningRulesTable): EarningRule {
  const settings = JSON.parse(row.definition) as RuleSettings;
  return {
    id: row.id,
    shopId: row.shop_id,
    status: row.status,
    version: row.version,
    name: row.name,
    eventType: row.event_type,
    ...settings,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toActiveRule(
  rule: Pick<EarningRule, "id" | "version" | "name" | "eventType"> & RuleSettings,
): ActiveRule {
  return {
    id: rule.id,
    version: rule.version,
    name: rule.name,
    event_type: rule.eventType,
    conditions: rule.conditions,
    reward: rule.reward,
    multipliers: rule.multipliers,
    max_points_per_event: rule.max_points_per_event,
    limits: rule.limits,
    pending_days: rule.pending_days,
    expiry_months: rule.expiry_months,
  };
}

function validationFailed(errors: FieldError[]): AppError {
  return new AppError(
    "validation_failed",
    errors[0]?.message ? `${errors[0].pointer}: ${errors[0].message}` : undefined,
    {
      errors,
    },
  );
}

/**
 * Checks a complete draft with the rule language's validator (pointers under `pointer`) and
 * returns the rule's parts with their defaults filled in.
 */
export function checkDraft(
  draft: RuleDraft & { event_type: string },
  currency: string,
  pointer = "/body",
): { name: string; eventType: string; settings: RuleSettings } {
  const errors = validateRule(draft, { currency }).map((error) => ({
    ...error,
    pointer: `${pointer}${error.pointer}`,
  }));
  if (errors.length > 0) throw validationFailed(errors);
  return {
    name: draft.name?.trim() || draft.event_type,
    eventType: draft.event_type,
    settings: {
      conditions: (draft.conditions ?? null) as Condition | null,
      reward: draft.reward as Reward,
      multipliers: (draft.multipliers ?? []) as Multiplier[],
      max_points_per_event: (draft.max_points_per_event ?? null) as number | null,
      limits: (draft.limits ?? []) as RuleLimit[],
      pending_days: draft.pending_days ?? 0,
      expiry_months: draft.expiry_months === undefined ? defaultExpiryMonths : draft.expiry_months,
    },
  };
}

async function findRuleRow(db: Kysely<Database>, shopId: string, ruleId: string) {
  return db
    .selectFrom("earning_rules")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", ruleId)
    .executeTakeFirst();
}

export async function getRule(db: Kysely<Database>, shopId: string, ruleId: string): Promise<EarningRule> {
  const row = await findRuleRow(db, shopId, ruleId);
  if (!row) throw new AppError("rule_not_found", `No earning rule ${ruleId} in this shop`);
  return toRule(row);
}

export interface RuleFilter {
  status?: RuleStatus | undefined;
  eventType?: string | undefined;
  /** Rules older than this id (the page cursor). */
  before?: string | undefined;
  limit: number;
}

/** Newest first; archived rules only when asked for by status. */
export async function listRules(db: Kysely<Database>, shopId: string, filter: RuleFilter): Promise<EarningRule[]> {
  let query = db.selectFrom("earning_rules").selectAll().where("shop_id", "=", shopId);
  query = filter.status ? query.where("status", "=", filter.status) : query.where("status", "!=", "archived");
  if (filter.eventType) query = query.where("event_type", "=", filter.eventType);
  if (filter.before) query = query.where("id", "<", filter.before);
  const rows = await query.orderBy("id", "desc").limit(filter.limit).execute();
  return rows.map(toRule);
}

export async function listRuleVersions(db: Kysely<Database>, shopId: string, ruleId: string) {
  await getRule(db, shopId, ruleId);
  const rows = await db
    .selectFrom("earning_rule_versions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("rule_id", "=", ruleId)
    .orderBy("version", "desc")
    .execute();
  return rows.map((row: EarningRuleVersionsTable) => ({
    version: row.version,
    status: row.status,
    name: row.name,
    eventType: row.event_type,
    ...(JSON.parse(row.definition) as RuleSettings),
    createdAt: row.created_at,
  }));
}

/** The active rules a shop runs on one event type, oldest first (so explanations list them stably). */
export async function listActiveRules(db: Kysely<Database>, shopId: string, eventType: string): Promise<ActiveRule[]> {
  const rows = await db
    .selectFrom("earning_rules")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("event_type", "=", eventType)
    .where("status", "=", "active")
    .orderBy("id")
    .execute();
  return rows.map((row) => toActiveRule(toRule(row)));
}

/** Writes the rule row and a copy of it as a version, plus the outbox event saying what happened. */
async function saveVersion(
  trx: Tx,
  row: EarningRulesTable,
  eventType: "rule.created" | "rule.updated",
  now: Date,
): Promise<EarningRule> {
  await trx
    .insertInto("earning_rule_versions")
    .values({
      shop_id: row.shop_id,
      rule_id: row.id,
      version: row.version,
      status: row.status,
      name: row.name,
      event_type: row.event_type,
      definition: row.definition,
      created_at: now.toISOString(),
    })
    .execute();
  const rule = toRule(row);
  await writeOutboxEvents(
    trx,
    row.shop_id,
    [
      {
        type: eventType,
        subjectType: "rule",
        subjectId: row.id,
        data: { rule_id: row.id, version: row.version, status: row.status, name: row.name },
      },
    ],
    now,
  );
  return rule;
}

export async function createRule(
  trx: Tx,
  input: { shopId: string; currency: string; draft: RuleDraft & { event_type: string }; status?: RuleStatus },
  now: Date,
): Promise<EarningRule> {
  const checked = checkDraft(input.draft, input.currency);
  const timestamp = now.toISOString();
  const row: EarningRulesTable = {
    shop_id: input.shopId,
    id: newId("rule", now),
    status: input.status ?? "active",
    version: 1,
    name: checked.name,
    event_type: checked.eventType,
    definition: JSON.stringify(checked.settings),
    created_at: timestamp,
    updated_at: timestamp,
  };
  await trx.insertInto("earning_rules").values(row).execute();
  return saveVersion(trx, row, "rule.created", now);
}

/** Locks the rule row (the version number is read and bumped under it). */
async function lockRule(trx: Tx, shopId: string, ruleId: string): Promise<EarningRulesTable> {
  const row = await trx
    .updateTable("earning_rules")
    .set((eb) => ({ version: eb.ref("version") }))
    .where("shop_id", "=", shopId)
    .where("id", "=", ruleId)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError("rule_not_found", `No earning rule ${ruleId} in this shop`);
  return row;
}

async function writeNewVersion(trx: Tx, row: EarningRulesTable, now: Date): Promise<EarningRule> {
  await trx
    .updateTable("earning_rules")
    .set({
      status: row.status,
      version: row.version,
      name: row.name,
      event_type: row.event_type,
      definition: row.definition,
      updated_at: row.updated_at,
    })
    .where("shop_id", "=", row.shop_id)
    .where("id", "=", row.id)
    .execute();
  return saveVersion(trx, row, "rule.updated", now);
}

/**
 * Saves a changed rule as a new version: the fields given replace the current ones, and the whole
 * result is validated again. Events already evaluated keep pointing at the version that decided them.
 */
export async function updateRule(
  trx: Tx,
  input: { shopId: string; ruleId: string; currency: string; changes: RuleDraft },
  now: Date,
): Promise<EarningRule> {
  const row = await lockRule(trx, input.shopId, input.ruleId);
  if (row.status === "archived") throw new AppError("rule_archived", `Earning rule ${row.id} is archived`);
  const current = toRule(row);
  const merged: RuleDraft & { event_type: string } = {
    name: current.name,
    event_type: current.eventType,
    conditions: current.conditions,
    reward: current.reward,
    multipliers: current.multipliers,
    max_points_per_event: current.max_points_per_event,
    limits: current.limits,
    pending_days: current.pending_days,
    expiry_months: current.expiry_months,
  };
  for (const [key, value] of Object.entries(input.changes)) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  const checked = checkDraft(merged, input.currency);
  return writeNewVersion(
    trx,
    {
      ...row,
      version: row.version + 1,
      name: checked.name,
      event_type: checked.eventType,
      definition: JSON.stringify(checked.settings),
      updated_at: now.toISOString(),
    },
    now,
  );
}

/** Enables, disables or archives a rule; a status change is a version too. Setting the same status changes nothing. */
export async function setRuleStatus(
  trx: Tx,
  input: { shopId: string; ruleId: string; status: RuleStatus },
  now: Date,
): Promise<EarningRule> {
  const row = await lockRule(trx, input.shopId, input.ruleId);
  if (row.status === input.status) return toRule(row);
  if (row.status === "archived") throw new AppError("rule_archived", `Earning rule ${row.id} is archived`);
  return writeNewVersion(
    trx,
    { ...row, status: input.status, version: row.version + 1, updated_at: now.toISOString() },
    now,
  );
}
