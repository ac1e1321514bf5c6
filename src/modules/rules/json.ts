import type { FieldError } from "../../platform/errors.js";

/** A JSON value, as rules are stored and explanations are shown. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 6901: `~` and `/` inside one reference token. */
export function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** An error for every property of `value` that is not in `allowed`: a typo must not pass as "no limit". */
export function unknownProperties(
  value: Record<string, unknown>,
  allowed: readonly string[],
  pointer: string,
  what: string,
): FieldError[] {
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .map((key) => ({
      pointer: `${pointer}/${escapePointer(key)}`,
      message: `is not a property of ${what}; it takes ${allowed.join(", ")}`,
    }));
}

/** Whether `value` is a whole number from `min` to `max`. */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}
