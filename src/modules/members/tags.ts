import type { FieldError } from "../../platform/errors.js";

/** A member has at most this many tags, each 1 to `maxTagLength` characters (after trimming). */
export const maxTags = 50;
export const maxTagLength = 100;

/** Drops repeats that differ only in case ("VIP", "vip"), keeping the first spelling and the order. */
export function uniqueTags(tags: Iterable<string>): string[] {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const tag of tags) {
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(tag);
  }
  return unique;
}

/**
 * A comma-separated tag list, as store platforms send it (Shopify's customer `tags`:
 * "VIP, wholesale,  vip"): split, trimmed, empty entries dropped, repeats dropped
 * case-insensitively. No length or count limit is applied: `setMemberTags` checks those.
 */
export function parseTagList(text: string): string[] {
  return uniqueTags(
    text
      .split(",")
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ""),
  );
}

/**
 * The tags as stored: each trimmed, none blank or longer than `maxTagLength` characters, repeats
 * dropped case-insensitively (the first spelling stays), at most `maxTags`. Problems are added to
 * `errors`, addressed from `pointer` (`/body/tags/2`).
 */
export function checkTags(tags: readonly string[], pointer: string, errors: FieldError[]): string[] {
  const trimmed = tags.map((tag) => tag.trim());
  for (const [index, tag] of trimmed.entries()) {
    // Characters as JSON Schema counts them: code points, not UTF-16 units.
    const length = [...tag].length;
    if (length === 0) errors.push({ pointer: `${pointer}/${index}`, message: "must not be blank" });
    else if (length > maxTagLength) {
      errors.push({ pointer: `${pointer}/${index}`, message: `must be at most ${maxTagLength} characters` });
    }
  }
  const unique = uniqueTags(trimmed);
  if (unique.length > maxTags) errors.push({ pointer, message: `must hold at most ${maxTags} different tags` });
  return unique;
}
