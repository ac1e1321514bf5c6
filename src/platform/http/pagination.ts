import { type Static, type TSchema, Type } from "typebox";
import { AppError } from "../errors.js";

/** `?limit=&cursor=` on every list endpoint. */
export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: "How many items to return (1–100)" }),
    cursor: Type.Optional(
      Type.String({ maxLength: 200, description: "The `next_cursor` of the previous page; omit for the first page" }),
    ),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

/** A page of items, newest first, with the cursor for the next page (null on the last page). */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean({ description: "Whether another page follows" }),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: "Pass as `cursor` to get the next page" }),
  });
}

// Cursors are opaque to clients: base64url of the last item's id, so their shape can change.
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const decoded = Buffer.from(cursor, "base64url").toString("utf8");
  if (!/^[a-z]+_[0-9A-Z]{26}$/.test(decoded)) {
    throw new AppError("invalid_cursor", "Use the next_cursor value from the previous page unchanged", {
      errors: [{ pointer: "/querystring/cursor", message: "is not a cursor Laurel issued" }],
    });
  }
  return decoded;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only says whether more follow.
 * `toItem` shapes each row for the response.
 */
export function toPage<Row extends { id: string }, Item>(rows: Row[], limit: number, toItem: (row: Row) => Item) {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const last = items.at(-1);
  return {
    data: items.map(toItem),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(last.id) : null,
  };
}
