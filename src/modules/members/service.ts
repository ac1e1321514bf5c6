import type { Kysely } from "kysely";
import { isUniqueViolation } from "../../platform/db/constraint-errors.js";
import type { DatabaseHandle } from "../../platform/db/database.js";
import type { Database } from "../../platform/db/schema.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { AppError, type FieldError, isAppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { canonicalLocale, isCountryCode } from "../../platform/intl.js";
import { type OutboxEvent, writeOutboxEvents } from "../../platform/outbox.js";
import { openPointsAccount } from "../ledger/index.js";
import { getShop } from "../shops/index.js";
import { normalizeIdentifier } from "./identifiers.js";
import * as repository from "./repository.js";
import { type Consent, type CurrentConsent, type Member, toMember, toMemberJson } from "./representation.js";
import {
  type AttributeType,
  type ConsentChannel,
  type ConsentPurpose,
  consentPurposes,
  type IdentifierKind,
  type MemberAttributeDefinitionsTable,
  type MemberConsentsTable,
  type MembersTable,
  type NameOrder,
} from "./tables.js";
import { checkTags } from "./tags.js";

export { parseTagList } from "./tags.js";

export interface IdentifierInput {
  kind: IdentifierKind;
  value: string;
  /** The shop has verified it (a confirmed email, an OTP-checked phone). */
  verified?: boolean | undefined;
  /** Where errors about it point; absent: its place in the body's `identifiers`. */
  pointer?: string | undefined;
}

/** Profile fields; absent leaves a field as it is, null clears it. */
export interface ProfileInput {
  givenName?: string | null | undefined;
  familyName?: string | null | undefined;
  nameOrder?: NameOrder | null | undefined;
  birthday?: { month: number; day: number; year?: number | null | undefined } | null | undefined;
  locale?: string | null | undefined;
  country?: string | null | undefined;
  marketingPreferences?: Record<string, unknown> | undefined;
  /** Merged into the stored attributes; a null value removes that attribute. */
  attributes?: Record<string, unknown> | undefined;
  /**
   * Replaces the member's tags: trimmed, repeats dropped case-insensitively (the first spelling
   * stays), order kept. Set by the shop (secret key) and store platforms, never by the shopper.
   */
  tags?: readonly string[] | undefined;
}

const maxJsonBytes = 4096;
const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function failIfAny(errors: FieldError[]): void {
  if (errors.length > 0) {
    throw new AppError("invalid_field_value", errors.map((error) => `${error.pointer} ${error.message}`).join("; "), {
      errors,
    });
  }
}

function checkAttributeValue(type: AttributeType, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string" && value.length <= 1000;
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "date": {
      // Date.parse rolls impossible days over ("2026-02-30" is March 2), so the date must read back
      // unchanged to be a real calendar day.
      if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
      const time = Date.parse(`${value}T00:00:00Z`);
      return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === value;
    }
  }
}

/** Applies a profile change to a row, checking what JSON Schema cannot (dates, codes, attribute types). */
function applyProfile(
  row: MembersTable,
  input: ProfileInput,
  definitions: MemberAttributeDefinitionsTable[],
  pointer: string,
): void {
  const errors: FieldError[] = [];
  const text = (value: string | null | undefined) => (value === undefined ? undefined : value?.trim() || null);
  const givenName = text(input.givenName);
  const familyName = text(input.familyName);
  if (givenName !== undefined) row.given_name = givenName;
  if (familyName !== undefined) row.family_name = familyName;
  if (input.nameOrder !== undefined) row.name_order = input.nameOrder;
  if (input.birthday !== undefined) {
    const birthday = input.birthday;
    if (birthday === null) {
      row.birthday_month = null;
      row.birthday_day = null;
      row.birthday_year = null;
    } else {
      const year = birthday.year ?? null;
      const leap = year === null || (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
      const lastDay = birthday.month === 2 && !leap ? 28 : (daysInMonth[birthday.month - 1] ?? 0);
      if (birthday.day > lastDay)
        errors.push({ pointer: `${pointer}/birthday/day`, message: "is not a day of that month" });
      row.birthday_month = birthday.month;
      row.birthday_day = birthday.day;
      row.birthday_year = year;
    }
  }
  if (input.locale !== undefined) {
    const locale = input.locale === null ? null : canonicalLocale(input.locale);
    if (locale === undefined) errors.push({ pointer: `${pointer}/locale`, message: "is not a BCP 47 language tag" });
    else row.locale = locale;
  }
  if (input.country !== undefined) {
    if (input.country !== null && !isCountryCode(input.country)) {
      errors.push({ pointer: `${pointer}/country`, message: "is not an ISO 3166-1 alpha-2 country code" });
    } else row.country = input.country;
  }
  if (input.marketingPreferences !== undefined) {
    const json = JSON.stringify(input.marketingPreferences);
    if (Buffer.byteLength(json) > maxJsonBytes) {
      errors.push({ pointer: `${pointer}/marketing_preferences`, message: "must be at most 4 KB as JSON" });
    } else row.marketing_preferences = json;
  }
  if (input.attributes !== undefined) {
    const attributes = JSON.parse(row.attributes) as Record<string, unknown>;
    for (const [key, value] of Object.entries(input.attributes)) {
      const definition = definitions.find((candidate) => candidate.key === key);
      if (!definition) {
        errors.push({ pointer: `${pointer}/attributes/${key}`, message: "is not an attribute this shop defines" });
      } else if (value === null) {
        delete attributes[key];
      } else if (!checkAttributeValue(definition.type, value)) {
        errors.push({ pointer: `${pointer}/attributes/${key}`, message: `must be a ${definition.type}` });
      } else {
        attributes[key] = value;
      }
    }
    row.attributes = JSON.stringify(attributes);
  }
  if (input.tags !== undefined) row.tags = JSON.stringify(checkTags(input.tags, `${pointer}/tags`, errors));
  failIfAny(errors);
}

/**
 * A profile is complete with a way to reach the member (email or phone), a given name, a birthday
 * (month and day), a country and every attribute the shop marks required.
 */
export function isProfileComplete(
  row: MembersTable,
  identifiers: Array<{ kind: IdentifierKind }>,
  definitions: MemberAttributeDefinitionsTable[],
): boolean {
  const attributes = JSON.parse(row.attributes) as Record<string, unknown>;
  return (
    identifiers.some((identifier) => identifier.kind === "email" || identifier.kind === "phone") &&
    row.given_name !== null &&
    row.birthday_month !== null &&
    row.country !== null &&
    definitions.every((definition) => definition.required === 0 || attributes[definition.key] !== undefined)
  );
}

function memberEvent(type: string, member: Member, extra: Record<string, unknown> = {}): OutboxEvent {
  return { type, subjectType: "member", subjectId: member.id, data: { member: toMemberJson(member), ...extra } };
}

async function loadMember(db: Kysely<Database>, shopId: string, memberId: string): Promise<Member> {
  const row = await repository.findMember(db, shopId, memberId);
  if (!row) throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  return toMember(row, await repository.listIdentifiers(db, shopId, [memberId]));
}

export async function getMember(db: Kysely<Database>, shopId: string, memberId: string): Promise<Member> {
  return loadMember(db, shopId, memberId);
}

/** Normalizes identifiers and refuses any that another member holds (409 with that member's id). */
async function prepareIdentifiers(
  trx: Tx,
  shopId: string,
  memberId: string | null,
  inputs: IdentifierInput[],
  defaultCountry: string | null,
  pointer: string,
): Promise<Array<IdentifierInput & { normalized: string; held: boolean }>> {
  const prepared: Array<IdentifierInput & { normalized: string; held: boolean }> = [];
  for (const [index, input] of inputs.entries()) {
    const inputPointer = input.pointer ?? `${pointer}/${index}/value`;
    const normalized = normalizeIdentifier(input.kind, input.value, { defaultCountry, pointer: inputPointer });
    if (prepared.some((other) => other.kind === input.kind && other.normalized === normalized)) continue;
    const existing = await repository.findIdentifier(trx, shopId, input.kind, normalized);
    if (existing && existing.member_id !== memberId) {
      throw new AppError(
        "identifier_taken",
        `The ${input.kind} ${normalized} belongs to member ${existing.member_id}; merge the members to combine them`,
        {
          extensions: { member_id: existing.member_id },
          errors: [{ pointer: inputPointer, message: "belongs to another member" }],
        },
      );
    }
    // `verified` only when it newly verifies: re-verifying a verified identifier (a second claim)
    // emitted member.updated and moved updated_at though nothing changed.
    const verified = input.verified === true && !existing?.verified_at;
    prepared.push({ ...input, verified, normalized, held: existing !== undefined });
  }
  return prepared;
}

async function insertIdentifiers(
  trx: Tx,
  shopId: string,
  memberId: string,
  prepared: Array<IdentifierInput & { normalized: string; held: boolean }>,
  now: string,
): Promise<void> {
  for (const identifier of prepared) {
    if (identifier.held) {
      if (identifier.verified)
        await repository.markIdentifierVerified(trx, shopId, identifier.kind, identifier.normalized, now);
      continue;
    }
    await repository.insertIdentifier(trx, {
      shop_id: shopId,
      kind: identifier.kind,
      value: identifier.normalized,
      member_id: memberId,
      verified_at: identifier.verified ? now : null,
      created_at: now,
    });
  }
}

export interface CreateMemberInput {
  shopId: string;
  /** guest or active; absent: the shop's enrollment mode decides (auto: active, opt_in: guest). */
  status?: "guest" | "active" | undefined;
  identifiers?: IdentifierInput[] | undefined;
  profile?: ProfileInput | undefined;
}

/** Creates a member with an empty points account, its identifiers and profile. */
export async function createMember(trx: Tx, input: CreateMemberInput, now: Date): Promise<Member> {
  const shop = await getShop(trx, input.shopId);
  const timestamp = now.toISOString();
  const status = input.status ?? (shop.enrollmentMode === "auto" ? "active" : "guest");
  const row: MembersTable = {
    shop_id: input.shopId,
    id: newId("member", now),
    status,
    given_name: null,
    family_name: null,
    name_order: null,
    birthday_month: null,
    birthday_day: null,
    birthday_year: null,
    locale: null,
    country: null,
    marketing_preferences: "{}",
    attributes: "{}",
    tags: "[]",
    profile_completed_at: null,
    joined_at: status === "active" ? timestamp : null,
    merged_into_member_id: null,
    created_at: timestamp,
    updated_at: timestamp,
  };
  const definitions = await repository.listAttributeDefinitions(trx, input.shopId);
  if (input.profile) applyProfile(row, input.profile, definitions, "/body");
  const prepared = await prepareIdentifiers(
    trx,
    input.shopId,
    null,
    input.identifiers ?? [],
    shop.defaultCountry,
    "/body/identifiers",
  );
  const complete = isProfileComplete(row, prepared, definitions);
  if (complete) row.profile_completed_at = timestamp;
  await repository.insertMember(trx, row);
  await insertIdentifiers(trx, input.shopId, row.id, prepared, timestamp);
  await openPointsAccount(trx, input.shopId, row.id, now);
  const member = await loadMember(trx, input.shopId, row.id);
  const events = [memberEvent("member.created", member)];
  if (complete) events.push(memberEvent("profile.completed", member));
  await writeOutboxEvents(trx, input.shopId, events, now);
  return member;
}

export interface UpdateMemberInput {
  shopId: string;
  memberId: string;
  profile?: ProfileInput | undefined;
  identifiers?: IdentifierInput[] | undefined;
  /** active ↔ suspended; cancelling is `cancelMember`, joining `joinMember`. */
  status?: "active" | "suspended" | undefined;
}

/**
 * Changes a member's profile, adds identifiers and suspends or reinstates. Emits `member.updated`
 * with the fields that changed, and `profile.completed` the first time the profile is complete.
 */
export async function updateMember(trx: Tx, input: UpdateMemberInput, now: Date): Promise<Member> {
  const row = await repository.findMember(trx, input.shopId, input.memberId);
  if (!row) throw new AppError("member_not_found", `No member ${input.memberId} in this shop`);
  if (row.status === "cancelled" || row.status === "erased") {
    throw new AppError("invalid_field_value", `Member ${row.id} is ${row.status} and can no longer change`);
  }
  const before = { ...row };
  const shop = await getShop(trx, input.shopId);
  const timestamp = now.toISOString();
  const definitions = await repository.listAttributeDefinitions(trx, input.shopId);
  if (input.profile) applyProfile(row, input.profile, definitions, "/body");
  if (input.status !== undefined && input.status !== row.status) {
    if (row.status === "guest") {
      throw new AppError("invalid_field_value", "A guest becomes active by joining (POST /v1/members/{id}/join)", {
        errors: [{ pointer: "/body/status", message: "a guest joins instead" }],
      });
    }
    row.status = input.status;
  }
  const prepared = await prepareIdentifiers(
    trx,
    input.shopId,
    row.id,
    input.identifiers ?? [],
    shop.defaultCountry,
    "/body/identifiers",
  );
  await insertIdentifiers(trx, input.shopId, row.id, prepared, timestamp);
  const identifiers = await repository.listIdentifiers(trx, input.shopId, [row.id]);
  const completesNow = row.profile_completed_at === null && isProfileComplete(row, identifiers, definitions);
  if (completesNow) row.profile_completed_at = timestamp;
  const changed = (Object.keys(row) as Array<keyof MembersTable>).filter((key) => row[key] !== before[key]);
  const identifiersChanged = prepared.some((identifier) => !identifier.held || identifier.verified);
  if (changed.length === 0 && !identifiersChanged) return toMember(row, identifiers);
  row.updated_at = timestamp;
  await repository.updateMember(trx, input.shopId, row.id, row);
  const member = toMember(row, identifiers);
  const events = [
    memberEvent("member.updated", member, {
      changed: [
        ...changed.filter((key) => key !== "profile_completed_at"),
        ...(identifiersChanged ? ["identifiers"] : []),
      ],
    }),
  ];
  if (before.status !== row.status)
    events.push(memberEvent(`member.${row.status === "suspended" ? "suspended" : "reinstated"}`, member));
  if (completesNow) events.push(memberEvent("profile.completed", member));
  await writeOutboxEvents(trx, input.shopId, events, now);
  return member;
}

/**
 * Replaces a member's tags, e.g. with a store platform's customer tags (`parseTagList` reads
 * Shopify's comma-separated list). The rules of `PATCH /v1/members/{id} {"tags": […]}`: at most 50
 * different tags of 1–100 characters (else `invalid_field_value`, pointing at `/body/tags`), a
 * cancelled or erased member cannot change, and `member.updated` with `changed: ["tags"]` is
 * emitted only when the list differs from the stored one.
 */
export async function setMemberTags(
  trx: Tx,
  shopId: string,
  memberId: string,
  tags: readonly string[],
  now: Date,
): Promise<Member> {
  return updateMember(trx, { shopId, memberId, profile: { tags } }, now);
}

export interface UpsertResult {
  member: Member;
  created: boolean;
}

const upsertAttempts = 3;
const pathPointer = "/params/value";

/**
 * Runs `work` in a transaction, again when it lost a race for an identifier. A concurrent request
 * may commit the same identifier after this one checked it was free: the insert then hits the
 * identifier's primary key. The retry sees the committed holder and answers 409
 * `identifier_taken` with its id (or, for an upsert, finds it) instead of a 500.
 */
export async function withIdentifierRetry<T>(database: DatabaseHandle, work: (trx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(database, work);
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= upsertAttempts) throw error;
    }
  }
}

/**
 * Finds the member an identifier belongs to, or creates one with it; then applies the profile
 * and links the other identifiers given. An identifier of another member is 409
 * `identifier_taken` (never a silent merge). Concurrent upserts of the same new identifier create
 * one member: the loser's insert hits the identifier's primary key and it retries as a find.
 */
export async function upsertMemberByIdentifier(
  database: DatabaseHandle,
  input: {
    shopId: string;
    kind: IdentifierKind;
    value: string;
    identifiers?: IdentifierInput[] | undefined;
    profile?: ProfileInput | undefined;
    status?: "guest" | "active" | undefined;
  },
  now: Date,
): Promise<UpsertResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(database, async (trx) => {
        const shop = await getShop(trx, input.shopId);
        const value = normalizeIdentifier(input.kind, input.value, {
          defaultCountry: shop.defaultCountry,
          pointer: pathPointer,
        });
        const existing = await repository.findIdentifier(trx, input.shopId, input.kind, value);
        if (existing) {
          const member = await updateMember(
            trx,
            {
              shopId: input.shopId,
              memberId: existing.member_id,
              profile: input.profile,
              identifiers: input.identifiers,
            },
            now,
          );
          return { member, created: false };
        }
        const member = await createMember(
          trx,
          {
            shopId: input.shopId,
            status: input.status,
            // The path's identifier goes last and points at the path, so errors about the body's
            // identifiers keep their own index (first, it shifted them all by one).
            identifiers: [...(input.identifiers ?? []), { kind: input.kind, value, pointer: pathPointer }],
            profile: input.profile,
          },
          now,
        );
        return { member, created: true };
      });
    } catch (error) {
      // On PostgreSQL (read committed) a concurrent upsert may also commit the identifier between
      // the find above and createMember's own check, which then reports the path's identifier as
      // taken: that too is a lost race, answered by finding the winner's member.
      const lostRace =
        isUniqueViolation(error) ||
        (isAppError(error) &&
          error.code === "identifier_taken" &&
          error.errors?.some((field) => field.pointer === pathPointer) === true);
      if (!lostRace || attempt >= upsertAttempts) throw error;
    }
  }
}

export async function listMembers(
  db: Kysely<Database>,
  shopId: string,
  filter: repository.MemberFilter,
): Promise<Member[]> {
  const rows = await repository.listMembers(db, shopId, {
    ...filter,
    search: filter.search?.trim(),
    tag: filter.tag?.trim(),
  });
  const identifiers = await repository.listIdentifiers(
    db,
    shopId,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toMember(row, identifiers));
}

async function changeStatus(
  trx: Tx,
  shopId: string,
  memberId: string,
  change: (row: MembersTable) => Partial<MembersTable> | null,
  event: string,
  now: Date,
): Promise<Member> {
  const row = await repository.findMember(trx, shopId, memberId);
  if (!row) throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  const changes = change(row);
  if (changes === null) return loadMember(trx, shopId, memberId);
  await repository.updateMember(trx, shopId, memberId, { ...changes, updated_at: now.toISOString() });
  const member = await loadMember(trx, shopId, memberId);
  await writeOutboxEvents(trx, shopId, [memberEvent(event, member)], now);
  return member;
}

/** A guest joins the program (opt-in enrollment): status active. Joining twice changes nothing. */
export async function joinMember(trx: Tx, shopId: string, memberId: string, now: Date): Promise<Member> {
  return changeStatus(
    trx,
    shopId,
    memberId,
    (row) => {
      if (row.status === "active") return null;
      if (row.status !== "guest") {
        throw new AppError("invalid_field_value", `A ${row.status} member cannot join; only guests can`);
      }
      return { status: "active", joined_at: now.toISOString() };
    },
    "member.joined",
    now,
  );
}

/**
 * A guest claims their membership with an email or phone the shop has verified: the identifier is
 * marked verified (added if new) and the guest becomes active.
 */
export async function claimMember(
  trx: Tx,
  input: { shopId: string; memberId: string; kind: "email" | "phone"; value: string },
  now: Date,
): Promise<Member> {
  await updateMember(
    trx,
    {
      shopId: input.shopId,
      memberId: input.memberId,
      identifiers: [{ kind: input.kind, value: input.value, verified: true }],
    },
    now,
  );
  return joinMember(trx, input.shopId, input.memberId, now);
}

/**
 * Cancels a membership: the member can no longer change or join again, and keeps its history.
 * Points stay on the books until forfeited or erased (the compliance module does both).
 */
export async function cancelMember(trx: Tx, shopId: string, memberId: string, now: Date): Promise<Member> {
  return changeStatus(
    trx,
    shopId,
    memberId,
    (row) => (row.status === "cancelled" || row.status === "erased" ? null : { status: "cancelled" }),
    "member.cancelled",
    now,
  );
}

function toConsent(row: MemberConsentsTable): Consent {
  return {
    id: row.id,
    purpose: row.purpose,
    channel: row.channel,
    status: row.status,
    source: row.source,
    wordingVersion: row.wording_version,
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    recordedAt: row.recorded_at,
  };
}

export interface ConsentInput {
  purpose: ConsentPurpose;
  granted: boolean;
  channel: ConsentChannel;
  source: string;
  wordingVersion?: string | null | undefined;
  ipAddress?: string | null | undefined;
  userAgent?: string | null | undefined;
}

/**
 * Records consent changes (one row each, never overwritten) and emits `consent.updated`. A change
 * that repeats the current state is still recorded: the history shows every time it was asked.
 */
export async function recordConsents(
  trx: Tx,
  shopId: string,
  memberId: string,
  changes: ConsentInput[],
  now: Date,
): Promise<Consent[]> {
  const member = await loadMember(trx, shopId, memberId);
  if (member.status === "erased") throw new AppError("invalid_field_value", `Member ${memberId} is erased`);
  const recorded: Consent[] = [];
  for (const change of changes) {
    const row: MemberConsentsTable = {
      shop_id: shopId,
      id: newId("consent", now),
      member_id: memberId,
      purpose: change.purpose,
      channel: change.channel,
      status: change.granted ? "granted" : "withdrawn",
      source: change.source,
      wording_version: change.wordingVersion ?? null,
      ip_address: change.ipAddress ?? null,
      user_agent: change.userAgent ?? null,
      recorded_at: now.toISOString(),
    };
    await repository.insertConsent(trx, row);
    recorded.push(toConsent(row));
  }
  await writeOutboxEvents(
    trx,
    shopId,
    recorded.map((consent) => ({
      type: "consent.updated",
      subjectType: "member",
      subjectId: memberId,
      // No IP address or user agent in events: they are personal data the receivers do not need.
      data: {
        member_id: memberId,
        purpose: consent.purpose,
        granted: consent.status === "granted",
        channel: consent.channel,
        source: consent.source,
        wording_version: consent.wordingVersion,
        recorded_at: consent.recordedAt,
      },
    })),
    now,
  );
  return recorded;
}

/** Every purpose with its current state: granted only when the latest record grants it. */
export async function getCurrentConsents(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
): Promise<CurrentConsent[]> {
  await loadMember(db, shopId, memberId);
  const latest = await repository.listCurrentConsents(db, shopId, memberId);
  return consentPurposes.map((purpose) => {
    const row = latest.find((candidate) => candidate.purpose === purpose);
    return { purpose, granted: row?.status === "granted", latest: row ? toConsent(row) : null };
  });
}

export async function listConsentHistory(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
  page: { limit: number; after?: string | undefined },
): Promise<Consent[]> {
  await loadMember(db, shopId, memberId);
  return (await repository.listConsents(db, shopId, memberId, { limit: page.limit, before: page.after })).map(
    toConsent,
  );
}

export interface AttributeDefinition {
  key: string;
  type: AttributeType;
  label: string;
  required: boolean;
  createdAt: string;
  updatedAt: string;
}

function toDefinition(row: MemberAttributeDefinitionsTable): AttributeDefinition {
  return {
    key: row.key,
    type: row.type,
    label: row.label,
    required: row.required === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function listAttributeDefinitions(db: Kysely<Database>, shopId: string): Promise<AttributeDefinition[]> {
  return (await repository.listAttributeDefinitions(db, shopId)).map(toDefinition);
}

/** Defines (or relabels) a custom profile attribute. Its type cannot change once defined. */
export async function defineAttribute(
  trx: Tx,
  input: { shopId: string; key: string; type: AttributeType; label: string; required: boolean },
  now: Date,
): Promise<AttributeDefinition> {
  const existing = (await repository.listAttributeDefinitions(trx, input.shopId)).find((row) => row.key === input.key);
  if (existing && existing.type !== input.type) {
    throw new AppError("invalid_field_value", `Attribute ${input.key} is a ${existing.type}; its type cannot change`, {
      errors: [{ pointer: "/body/type", message: `must stay ${existing.type}` }],
    });
  }
  const timestamp = now.toISOString();
  const row: MemberAttributeDefinitionsTable = {
    shop_id: input.shopId,
    key: input.key,
    type: input.type,
    label: input.label,
    required: input.required ? 1 : 0,
    created_at: existing?.created_at ?? timestamp,
    updated_at: timestamp,
  };
  await repository.upsertAttributeDefinition(trx, row);
  return toDefinition(row);
}

export async function deleteAttributeDefinition(trx: Tx, shopId: string, key: string): Promise<void> {
  if ((await repository.deleteAttributeDefinition(trx, shopId, key)) === 0) {
    throw new AppError("invalid_field_value", `No attribute ${key} is defined`, {
      errors: [{ pointer: "/params/key", message: "is not defined" }],
    });
  }
}
