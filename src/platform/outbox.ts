import { insertOrBuffer } from "./db/insert-buffer.js";
import { columnsOf, rawInsert } from "./db/raw-statement.js";
import type { Tx } from "./db/transaction.js";
import { newId } from "./ids.js";

export interface OutboxTable {
  shop_id: string;
  id: string;
  /** Dotted event name, e.g. `points.earned`. */
  type: string;
  /** What the event is about (`member`), so a member's events can be read back in order. */
  subject_type: string;
  subject_id: string;
  /** The whole event as JSON: `{ id, type, created_at, shop_id, data }`. */
  payload: string;
  created_at: string;
  /** Set by delivery once the event has been handed to every destination. */
  dispatched_at: string | null;
}

export interface OutboxEvent {
  type: string;
  subjectType: string;
  subjectId: string;
  data: Record<string, unknown>;
}

/**
 * Records domain events in the caller's transaction, so an event exists exactly when the change
 * it describes was committed. The payload is complete on its own: delivery never has to read the
 * changed rows again (they may have changed since).
 */
const outboxColumns = columnsOf<OutboxTable>()([
  "shop_id",
  "id",
  "type",
  "subject_type",
  "subject_id",
  "payload",
  "created_at",
  "dispatched_at",
]);
const insertOutboxRows = rawInsert("outbox", outboxColumns.columns);

export async function writeOutboxEvents(trx: Tx, shopId: string, events: OutboxEvent[], now: Date): Promise<void> {
  if (events.length === 0) return;
  const createdAt = now.toISOString();
  // Nothing reads the outbox while events are ingested, so a batch may hold its rows back.
  await insertOrBuffer(
    trx,
    insertOutboxRows,
    events.map((event) => {
      const id = newId("outboxEvent", now);
      return outboxColumns.values({
        shop_id: shopId,
        id,
        type: event.type,
        subject_type: event.subjectType,
        subject_id: event.subjectId,
        payload: JSON.stringify({ id, type: event.type, created_at: createdAt, shop_id: shopId, data: event.data }),
        created_at: createdAt,
        dispatched_at: null,
      });
    }),
  );
}
