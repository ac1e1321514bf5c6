import { AppError } from "../platform/errors.js";
import { isCurrencyCode } from "../platform/intl.js";
import { parseDecimalAmount } from "./money.js";

/**
 * Reading webhook JSON: a parse that keeps 64-bit ids exact, and narrow readers that check one
 * field at a time and name it by its JSON pointer (`/body/line_items/0/price`) when it is wrong.
 * Unknown fields are ignored.
 */

export type JsonObject = { readonly [key: string]: unknown };

/** The AppError of one invalid field; the HTTP layer turns it into a 400 problem. */
export function invalid(pointer: string, message: string): AppError {
  return new AppError("validation_failed", `${pointer} ${message}`, { errors: [{ pointer, message }] });
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * JSON.parse, except that an integer too large for a double (Shopify ids reach 8.2e17, beyond
 * 2^53) becomes its exact digits as a string instead of a rounded number. The id readers below
 * accept those strings and refuse rounded numbers. Invalid JSON is `malformed_json`.
 */
export function parseWebhookJson(raw: Buffer | string): unknown {
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError("malformed_json", `The body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  // The text is valid JSON, so outside strings every digit run starting a token is a number value.
  let rewritten = "";
  let copiedUpTo = 0;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      index++;
      while (index < text.length && text.charCodeAt(index) !== 0x22) index += text.charCodeAt(index) === 0x5c ? 2 : 1;
      index++;
    } else if (code === 0x2d || isDigit(code)) {
      const start = index;
      index++;
      while (index < text.length && /[0-9eE.+-]/.test(text.charAt(index))) index++;
      const token = text.slice(start, index);
      if (/^-?\d{16,}$/.test(token) && !Number.isSafeInteger(Number(token))) {
        rewritten += `${text.slice(copiedUpTo, start)}"${token}"`;
        copiedUpTo = index;
      }
    } else {
      index++;
    }
  }
  return copiedUpTo === 0 ? parsed : JSON.parse(rewritten + text.slice(copiedUpTo));
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

export function objectAt(value: unknown, pointer: string): JsonObject {
  if (!isObject(value)) throw invalid(pointer, `must be a JSON object, got ${describe(value)}`);
  return value;
}

/** An object field; absent or null is null. */
export function optionalObject(object: JsonObject, key: string, base: string): JsonObject | null {
  const value = object[key];
  return value === undefined || value === null ? null : objectAt(value, `${base}/${key}`);
}

export function requiredArray(object: JsonObject, key: string, base: string): readonly unknown[] {
  const value = object[key];
  if (!Array.isArray(value)) throw invalid(`${base}/${key}`, `must be an array, got ${describe(value)}`);
  return value;
}

/** An array field; absent or null is empty. */
export function optionalArray(object: JsonObject, key: string, base: string): readonly unknown[] {
  const value = object[key];
  return value === undefined || value === null ? [] : requiredArray(object, key, base);
}

export function requiredString(object: JsonObject, key: string, base: string): string {
  const value = object[key];
  if (typeof value !== "string" || value.trim() === "") {
    throw invalid(`${base}/${key}`, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** A text field, trimmed; absent, null and blank (platforms write "" for unset) are null. */
export function optionalString(object: JsonObject, key: string, base: string): string | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw invalid(`${base}/${key}`, `must be a string, got ${describe(value)}`);
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

export function optionalBoolean(object: JsonObject, key: string, base: string): boolean | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "boolean") throw invalid(`${base}/${key}`, `must be true or false, got ${describe(value)}`);
  return value;
}

/** A count such as a quantity: an integer, 0 or more. */
export function requiredCount(object: JsonObject, key: string, base: string): number {
  const value = object[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${base}/${key}`, `must be a whole number 0 or more, got ${describe(value)}`);
  }
  return value;
}

/**
 * A platform id as its decimal digits. Numbers must be exact (a safe integer); larger ids arrive
 * as strings from parseWebhookJson. 0 is WooCommerce's "none" (a guest, a simple product's
 * variation) and reads as null.
 */
export function optionalId(object: JsonObject, key: string, base: string): string | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  let digits: string;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalid(
        `${base}/${key}`,
        Number.isInteger(value) && value > 0
          ? `is an id beyond 2^53 that was rounded when parsed; parse the raw body with parseWebhookJson`
          : `must be an id (a whole number), got ${describe(value)}`,
      );
    }
    digits = String(value);
  } else if (typeof value === "string" && /^\d{1,20}$/.test(value)) {
    digits = value.replace(/^0+(?=\d)/, "");
  } else {
    throw invalid(`${base}/${key}`, `must be an id (a whole number), got ${describe(value)}`);
  }
  return digits === "0" ? null : digits;
}

export function requiredId(object: JsonObject, key: string, base: string): string {
  const id = optionalId(object, key, base);
  if (id === null) throw invalid(`${base}/${key}`, `is required: the resource's id, got ${describe(object[key])}`);
  return id;
}

// ISO 8601 date-time as the platforms write it. The offset is optional only for readers told the
// value is UTC (WooCommerce's *_gmt fields).
const dateTime =
  /^(\d{4}-\d{2}-\d{2})T((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?)(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$/;

function toUtc(value: string, utc: boolean): string | null {
  const match = dateTime.exec(value);
  const offset = match?.[3] ?? (utc ? "Z" : undefined);
  if (!match || !offset) return null;
  // Date rolls 2025-02-30 over into March; a calendar date must come back unchanged.
  const day = new Date(`${match[1]}T00:00:00Z`);
  if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== match[1]) return null;
  return new Date(`${match[1]}T${match[2]}${offset}`).toISOString();
}

/**
 * A timestamp as ISO 8601 UTC (`2025-04-02T16:30:45.000Z`); absent or null is null. Without an
 * offset the value is refused, unless `utc` says the platform writes UTC without one.
 */
export function optionalTimestamp(
  object: JsonObject,
  key: string,
  base: string,
  options: { utc?: boolean } = {},
): string | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  const timestamp = typeof value === "string" ? toUtc(value, options.utc === true) : null;
  if (timestamp === null) {
    throw invalid(
      `${base}/${key}`,
      `must be an ISO 8601 date-time${options.utc ? "" : " with an offset"}, got ${describe(value)}`,
    );
  }
  return timestamp;
}

export function requiredTimestamp(
  object: JsonObject,
  key: string,
  base: string,
  options: { utc?: boolean } = {},
): string {
  const timestamp = optionalTimestamp(object, key, base, options);
  if (timestamp === null) throw invalid(`${base}/${key}`, "is required");
  return timestamp;
}

export function requiredCurrency(object: JsonObject, key: string, base: string): string {
  const value = object[key];
  if (typeof value !== "string" || !isCurrencyCode(value)) {
    throw invalid(`${base}/${key}`, `must be an ISO 4217 currency code such as "USD", got ${describe(value)}`);
  }
  return value;
}

/** An amount field (decimal string, or number) in minor units of `currency`. */
export function requiredAmount(
  object: JsonObject,
  key: string,
  base: string,
  currency: string,
  options: { negative?: boolean } = {},
): number {
  const pointer = `${base}/${key}`;
  const value = object[key];
  if (typeof value !== "string" && typeof value !== "number") {
    throw invalid(pointer, `must be a decimal amount such as "19.99", got ${describe(value)}`);
  }
  const minor = parseDecimalAmount(value, currency, pointer);
  if (minor < 0 && !options.negative) throw invalid(pointer, `must not be negative, got ${describe(value)}`);
  return minor;
}

/** An ISO 3166-1 alpha-2 country code, upper-cased; anything else (blank, a country name) is null. */
export function optionalCountry(object: JsonObject | null, key: string): string | null {
  const value = object?.[key];
  return typeof value === "string" && /^[A-Za-z]{2}$/.test(value.trim()) ? value.trim().toUpperCase() : null;
}
