import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import { AppError } from "../../platform/errors.js";
import type { EventsTable } from "./tables.js";

export async function getEvent(db: Kysely<Database>, shopId: string, eventId: string): Promise<EventsTable> {
  const row = await db
    .selectFrom("events")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", eventId)
    .executeTakeFirst();
  if (!row) throw new AppError("event_not_found", `No event ${eventId} in this shop`);
  return row;
}

/** Newest first. */
export async function listEvents(
  db: Kysely<Database>,
  shopId: string,
  filter: { memberId?: string | undefined; type?: string | undefined; before?: string | undefined; limit: number },
): Promise<EventsTable[]> {
  let query = db.selectFrom("events").selectAll().where("shop_id", "=", shopId);
  if (filter.memberId) query = query.where("member_id", "=", filter.memberId);
  if (filter.type) query = query.where("type", "=", filter.type);
  if (filter.before) query = query.where("id", "<", filter.before);
  return query.orderBy("id", "desc").limit(filter.limit).execute();
}
