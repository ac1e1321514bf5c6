import type { IncomingHttpHeaders } from "node:http";
import { AppError } from "../platform/errors.js";
import { parseWebhookJson } from "./json.js";

/** A header's value (Node lower-cases the names), trimmed; null when absent or blank. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const raw = headers[name.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/**
 * The signature header and the other headers a platform's delivery must carry. Without the
 * signature the request is unauthenticated (401 invalid_webhook_signature, `unsigned` says why);
 * without the others it cannot be handled (400 validation_failed naming each missing header).
 */
export function readDeliveryHeaders<Key extends string>(
  headers: IncomingHttpHeaders,
  spec: {
    platform: string;
    signature: string;
    unsigned: string;
    required: ReadonlyArray<readonly [Key, string]>;
  },
): { signature: string } & Record<Key, string> {
  const signature = headerValue(headers, spec.signature);
  if (signature === null) {
    throw new AppError("invalid_webhook_signature", spec.unsigned, {
      errors: [{ pointer: `/headers/${spec.signature.toLowerCase()}`, message: "is required" }],
    });
  }
  const missing = spec.required.filter(([, name]) => headerValue(headers, name) === null).map(([, name]) => name);
  if (missing.length > 0) {
    throw new AppError("validation_failed", `Missing ${spec.platform} webhook headers: ${missing.join(", ")}`, {
      errors: missing.map((name) => ({ pointer: `/headers/${name.toLowerCase()}`, message: "is required" })),
    });
  }
  const values = Object.fromEntries(spec.required.map(([key, name]) => [key, headerValue(headers, name)]));
  return { signature, ...values } as { signature: string } & Record<Key, string>;
}

/** The raw body as JSON; invalid JSON is 400 malformed_json pointing at the body. */
export function parseDeliveryBody(raw: Buffer): unknown {
  try {
    return parseWebhookJson(raw);
  } catch (error) {
    if (error instanceof AppError && error.code === "malformed_json") {
      throw new AppError("malformed_json", error.message, {
        errors: [{ pointer: "/body", message: error.message }],
        cause: error,
      });
    }
    throw error;
  }
}
