import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { AppError } from "../../platform/errors.js";
import type { IdentifierKind } from "./tables.js";

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const platformIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
// Shopify's GraphQL ids name the customer as gid://shopify/Customer/<id>; the REST id is the tail.
const shopifyGlobalId = /^gid:\/\/shopify\/Customer\/(\d+)$/;

function refuse(pointer: string, message: string): AppError {
  return new AppError("invalid_field_value", message, { errors: [{ pointer, message }] });
}

/** A phone number in E.164, read in `defaultCountry` when written without a country code. */
function normalizePhone(raw: string, defaultCountry: string | null, pointer: string): string {
  // extract: false because by default libphonenumber finds a number anywhere in the text, so
  // "call me at +1 213 373 4253" or "+12133734253abc" would pass as a phone number.
  const phone = parsePhoneNumberFromString(raw, {
    extract: false,
    ...(defaultCountry ? { defaultCountry: defaultCountry as never } : {}),
  });
  if (!phone?.isValid()) {
    throw refuse(
      pointer,
      defaultCountry
        ? `"${raw}" is not a valid phone number (local numbers are read as ${defaultCountry})`
        : `"${raw}" is not a valid international phone number; start it with + and the country code, or set the shop's default_country`,
    );
  }
  return phone.number;
}

/**
 * The one stored form of an identifier, so the same person is found however they typed it:
 * emails trimmed and lower-cased (Laurel treats the whole address as case-insensitive), phones and
 * WhatsApp ids in E.164, platform customer ids as the platform's numeric or string id.
 */
export function normalizeIdentifier(
  kind: IdentifierKind,
  raw: string,
  options: { defaultCountry: string | null; pointer: string },
): string {
  const value = raw.trim();
  switch (kind) {
    case "email": {
      const email = value.toLowerCase();
      if (email.length > 254 || !emailPattern.test(email))
        throw refuse(options.pointer, `"${raw}" is not an email address`);
      return email;
    }
    case "phone":
      return normalizePhone(value, options.defaultCountry, options.pointer);
    case "whatsapp":
      // A WhatsApp id (wa_id) is the international number without the plus sign. It never starts
      // with 0 (no country code does), so digits with a leading 0 are a local number, read in the
      // default country: prefixing those with + made every such local number invalid.
      return normalizePhone(
        /^[1-9]\d{7,14}$/.test(value) ? `+${value}` : value,
        options.defaultCountry,
        options.pointer,
      );
    case "shopify": {
      const id = shopifyGlobalId.exec(value)?.[1] ?? value;
      if (!/^\d{1,20}$/.test(id)) throw refuse(options.pointer, `"${raw}" is not a Shopify customer id`);
      return id;
    }
    case "woocommerce":
    case "magento":
      if (!platformIdPattern.test(value)) throw refuse(options.pointer, `"${raw}" is not a ${kind} customer id`);
      return value;
    case "external":
      if (
        value.length === 0 ||
        value.length > 200 ||
        [...value].some((character) => (character.codePointAt(0) ?? 0) < 0x20)
      ) {
        throw refuse(options.pointer, "must be 1 to 200 characters without control characters");
      }
      return value;
  }
}
