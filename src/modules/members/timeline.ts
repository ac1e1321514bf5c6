import { type Kysely, sql } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import { AppError } from "../../platform/errors.js";
import * as repository from "./repository.js";

/** One thing that happened to a member, as an admin screen lists it. */
export interface TimelineItem {
  /** The outbox event's id. */
  id: string;
  type: string;
  /** Whose event it is: the member, or a member merged into it. */
  memberId: string;
  occurredAt: string;
  summary: string;
  data: Record<string, unknown>;
}

export interface TimelinePage {
  limit: number;
  /** Only events older than this event id (the cursor). */
  before?: string | undefined;
  /** Event type prefixes (`points`, `consent`, `member.merged`); absent: every type. */
  types?: string[] | undefined;
}

type Data = Record<string, unknown>;

function record(value: unknown): Data {
  return typeof value === "object" && value !== null ? (value as Data) : {};
}

function points(amount: unknown): string {
  return `${typeof amount === "number" ? amount.toLocaleString("en-US") : "?"} point${amount === 1 ? "" : "s"}`;
}

function withReason(sentence: string, transaction: Data): string {
  return typeof transaction.reason === "string" && transaction.reason !== ""
    ? `${sentence}: ${transaction.reason}`
    : sentence;
}

function pointsSummary(type: string, data: Data, timelineMemberId: string): string {
  const transaction = record(data.transaction);
  const amount = points(transaction.amount);
  const lot = record(data.lot);
  switch (type) {
    case "points.earned":
      return withReason(lot.state === "pending" ? `Earned ${amount}, pending` : `Earned ${amount}`, transaction);
    case "points.imported":
      return withReason(`Imported ${amount}`, transaction);
    case "points.adjusted":
      // A credit creates a lot; a debit draws from existing ones.
      return withReason(data.lot ? `Credited ${amount} by hand` : `Debited ${amount} by hand`, transaction);
    case "points.spent":
      return withReason(`Spent ${amount}`, transaction);
    case "points.reserved":
      return `Reserved ${amount} at checkout`;
    case "points.released":
      return `Released ${amount} held at checkout`;
    case "points.confirmed":
      return `${amount} confirmed, no longer pending`;
    case "points.expired":
      return `${amount} expired`;
    case "points.reversed":
      return withReason(`Reversed ${amount} of ${String(data.reverses_transaction_id)}`, transaction);
    case "points.transferred":
      return data.to_member_id === timelineMemberId
        ? `Received ${amount} from ${String(data.member_id)}`
        : `Moved ${amount} to ${String(data.to_member_id)}`;
    default:
      return `Points event ${type}`;
  }
}

const statusSentences = new Map([
  ["member.joined", "Joined the program"],
  ["member.suspended", "Membership suspended"],
  ["member.reinstated", "Membership reinstated"],
  ["member.cancelled", "Membership cancelled"],
  ["profile.completed", "Completed their profile"],
]);

/** A short English sentence for an admin screen; unknown types still get one. */
export function summarize(type: string, data: Data, timelineMemberId: string): string {
  if (type.startsWith("points.")) return pointsSummary(type, data, timelineMemberId);
  const known = statusSentences.get(type);
  if (known) return known;
  switch (type) {
    case "member.created":
      return record(data.member).status === "guest" ? "Added as a guest" : "Became a member";
    case "member.updated": {
      const changed = Array.isArray(data.changed) ? data.changed.map(String) : [];
      return changed.length > 0 ? `Profile updated: ${changed.join(", ")}` : "Profile updated";
    }
    case "member.merged":
      return `Merged member ${String(data.duplicate_id)} into this member`;
    case "consent.updated": {
      const sentence = `Consent to ${String(data.purpose)} ${data.granted === true ? "granted" : "withdrawn"} (${String(data.channel)})`;
      return data.merged_from_member_id
        ? `${sentence}, taken over from ${String(data.merged_from_member_id)}`
        : sentence;
    }
    default:
      return `Event ${type}`;
  }
}

/**
 * A member's timeline, newest first: every event written to the outbox about the member and about
 * the members merged into it (`merged_into_member_id`). One level is enough because a merge
 * re-points the members earlier merged into the duplicate at the survivor.
 */
export async function getMemberTimeline(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
  page: TimelinePage,
): Promise<TimelineItem[]> {
  if (!(await repository.findMember(db, shopId, memberId))) {
    throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  }
  const merged = await db
    .selectFrom("members")
    .select("id")
    .where("shop_id", "=", shopId)
    .where("merged_into_member_id", "=", memberId)
    .execute();
  let query = db
    .selectFrom("outbox")
    .select(["id", "type", "subject_id", "payload", "created_at"])
    .where("shop_id", "=", shopId)
    .where("subject_type", "=", "member")
    .where("subject_id", "in", [memberId, ...merged.map((row) => row.id)]);
  if (page.before) query = query.where("id", "<", page.before);
  const types = page.types;
  if (types && types.length > 0) {
    query = query.where((eb) =>
      eb.or(
        types.flatMap((prefix) => [
          eb("type", "=", prefix),
          // `_` is a LIKE wildcard; escaped so "a_b" matches only itself.
          eb(
            "type",
            "like",
            sql<string>`${`${prefix.replace(/[\\%_]/g, (character) => `\\${character}`)}.%`} escape '\\'`,
          ),
        ]),
      ),
    );
  }
  const rows = await query.orderBy("id", "desc").limit(page.limit).execute();
  return rows.map((row) => {
    const data = record((JSON.parse(row.payload) as Data).data);
    return {
      id: row.id,
      type: row.type,
      memberId: row.subject_id,
      occurredAt: row.created_at,
      summary: summarize(row.type, data, memberId),
      data,
    };
  });
}
