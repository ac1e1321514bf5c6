import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, type FieldError } from "../../platform/errors.js";
import type { CustomEventTypesTable } from "./tables.js";

/** The event types Laurel knows without any setup. Shops add their own (custom_event_types). */
export const builtInEventTypes = [
  "order.paid",
  "order.refunded",
  "order.cancelled",
  "review.created",
  "profile.completed",
  "social.followed",
  "checked_in",
  "content.shared",
  "referral.converted",
  "birthday",
] as const;
export type BuiltInEventType = (typeof builtInEventTypes)[number];

export function isBuiltInEventType(type: string): type is BuiltInEventType {
  return (builtInEventTypes as readonly string[]).includes(type);
}

/** What GET /v1/event-types says about each built-in type. */
const builtInDescriptions: Record<BuiltInEventType, { name: string; description: string }> = {
  "order.paid": {
    name: "Order paid",
    description: "A customer paid for an order; spend rules award points on its amounts and products.",
  },
  "order.refunded": {
    name: "Order refunded",
    description: "All or part of a paid order was refunded; the points it earned are taken back in proportion.",
  },
  "order.cancelled": {
    name: "Order cancelled",
    description: "A paid order was cancelled; the points it earned are taken back.",
  },
  "review.created": { name: "Review written", description: "The customer wrote a product or store review." },
  "profile.completed": {
    name: "Profile completed",
    description: "The member's profile became complete for the first time (emitted once per member).",
  },
  "social.followed": { name: "Followed on social media", description: "The customer followed the shop on a network." },
  checked_in: { name: "Checked in", description: "The customer checked in at a store or an event." },
  "content.shared": { name: "Content shared", description: "The customer shared a product, post or page." },
  "referral.converted": {
    name: "Referral converted",
    description: "Someone the member referred became a customer.",
  },
  birthday: { name: "Birthday", description: "The member's birthday, in the shop's time zone." },
};

/** A custom type: lower-case words of letters, digits and `_`, joined by dots (`workshop.attended`). */
export const customEventTypePattern = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;
export const maxEventTypeLength = 100;

export interface EventType {
  type: string;
  builtIn: boolean;
  name: string;
  description: string | null;
  /** Null for built-in types. */
  createdAt: string | null;
  updatedAt: string | null;
}

function toEventType(row: CustomEventTypesTable): EventType {
  return {
    type: row.type,
    builtIn: false,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** 400 for a name no custom type can have: not the pattern, too long, or a built-in type. */
function checkCustomType(type: string, pointer: string): void {
  let message: string | undefined;
  if (isBuiltInEventType(type)) message = "is a built-in event type; a custom type needs a name of its own";
  else if (type.length > maxEventTypeLength) message = `must be at most ${maxEventTypeLength} characters`;
  else if (!customEventTypePattern.test(type)) {
    message = "must be lower-case words of letters, digits and _ joined by dots, e.g. workshop.attended";
  }
  if (message !== undefined) {
    throw new AppError("validation_failed", `${pointer} ${message}`, { errors: [{ pointer, message }] });
  }
}

async function findCustomType(
  db: Kysely<Database>,
  shopId: string,
  type: string,
): Promise<CustomEventTypesTable | undefined> {
  return db
    .selectFrom("custom_event_types")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("type", "=", type)
    .executeTakeFirst();
}

/** The built-in types in their fixed order, then the shop's custom types by name of type. */
export async function listEventTypes(db: Kysely<Database>, shopId: string): Promise<EventType[]> {
  const rows = await db
    .selectFrom("custom_event_types")
    .selectAll()
    .where("shop_id", "=", shopId)
    .orderBy("type")
    .execute();
  return [
    ...builtInEventTypes.map((type) => ({
      type,
      builtIn: true,
      ...builtInDescriptions[type],
      createdAt: null,
      updatedAt: null,
    })),
    ...rows.map(toEventType),
  ];
}

/** True for a built-in type or one the shop has defined. */
export async function isKnownEventType(db: Kysely<Database>, shopId: string, type: string): Promise<boolean> {
  if (isBuiltInEventType(type)) return true;
  return (await findCustomType(db, shopId, type)) !== undefined;
}

export interface DefineEventTypeInput {
  shopId: string;
  type: string;
  name: string;
  /** Absent or null: no description (a PUT replaces the whole definition). */
  description?: string | null | undefined;
}

/**
 * Creates a custom event type, or replaces the name and description of one the shop has.
 * `created` says which. Names are trimmed and may not be blank; a blank description is none.
 */
export async function defineEventType(
  trx: Tx,
  input: DefineEventTypeInput,
  now: Date,
): Promise<{ eventType: EventType; created: boolean }> {
  checkCustomType(input.type, "/params/type");
  const name = input.name.trim();
  const description = input.description?.trim() || null;
  const errors: FieldError[] = [];
  if (name === "") errors.push({ pointer: "/body/name", message: "must not be blank" });
  if (errors.length > 0) {
    throw new AppError("invalid_field_value", errors.map((error) => `${error.pointer} ${error.message}`).join("; "), {
      errors,
    });
  }
  const timestamp = now.toISOString();
  const row: CustomEventTypesTable = {
    shop_id: input.shopId,
    type: input.type,
    name,
    description,
    created_at: timestamp,
    updated_at: timestamp,
  };
  // Insert-or-nothing first, so two concurrent first PUTs create one row and only one says 201.
  const inserted = await trx
    .insertInto("custom_event_types")
    .values(row)
    .onConflict((conflict) => conflict.columns(["shop_id", "type"]).doNothing())
    .returning("type")
    .executeTakeFirst();
  if (inserted !== undefined) return { eventType: toEventType(row), created: true };

  const existing = await findCustomType(trx, input.shopId, input.type);
  if (!existing) throw new Error(`custom event type ${input.type} of shop ${input.shopId} vanished`);
  if (existing.name === name && existing.description === description) {
    return { eventType: toEventType(existing), created: false };
  }
  const updated = await trx
    .updateTable("custom_event_types")
    .set({ name, description, updated_at: timestamp })
    .where("shop_id", "=", input.shopId)
    .where("type", "=", input.type)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { eventType: toEventType(updated), created: false };
}

/** Removes one of the shop's custom types; 404 `event_type_not_found` when it has none by that name. */
export async function deleteEventType(trx: Tx, shopId: string, type: string): Promise<void> {
  checkCustomType(type, "/params/type");
  const result = await trx
    .deleteFrom("custom_event_types")
    .where("shop_id", "=", shopId)
    .where("type", "=", type)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) {
    throw new AppError("event_type_not_found", `This shop has no custom event type ${type}`);
  }
}
