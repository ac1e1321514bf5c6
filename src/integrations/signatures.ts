import { createHmac, timingSafeEqual } from "node:crypto";

// A SHA-256 digest is 32 bytes: 43 base64 characters and one "=" of padding. The last character
// carries 2 unused bits, which must be zero; without that check four different headers would
// decode to the same digest.
const base64Sha256 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Whether `headerValue` is base64(HMAC-SHA256(key = secret as UTF-8, message = rawBody)), the
 * recipe of both Shopify (`X-Shopify-Hmac-Sha256`, key = the app's client secret) and WooCommerce
 * (`X-WC-Webhook-Signature`, key = the webhook's secret).
 *
 * `rawBody` must be the exact bytes received: a body parsed and serialized again differs (key
 * order, spacing, WooCommerce's escaped "\/" and \uXXXX), and its signature with it. The digests
 * are compared with crypto.timingSafeEqual. A missing, malformed or non-string header, or anything
 * unexpected, is `false`; this never throws.
 */
export function verifyBase64HmacSha256(
  rawBody: Buffer | string,
  secret: string,
  headerValue: string | undefined,
): boolean {
  if (typeof headerValue !== "string" || !base64Sha256.test(headerValue)) return false;
  try {
    const expected = createHmac("sha256", secret).update(rawBody).digest();
    const given = Buffer.from(headerValue, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  } catch {
    return false;
  }
}
