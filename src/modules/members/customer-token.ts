import { createHmac, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import { AppError } from "../../platform/errors.js";
import { getCustomerTokenSecret } from "../shops/index.js";
import { normalizeIdentifier } from "./identifiers.js";
import * as repository from "./repository.js";
import type { IdentifierKind, MembersTable } from "./tables.js";

/**
 * Storefront customer tokens: `<subject>.<expires>.<signature>`, where `signature` is the
 * lowercase hex HMAC-SHA256 of `<shop_id>.<subject>.<expires>` keyed with the shop's customer token
 * secret (its text, as given). Plain HMAC over plain text so a storefront backend, a Shopify app
 * proxy (Liquid's `hmac_sha256`) or PHP's `hash_hmac` can make one without a Laurel library; the
 * shop id in the signed text keeps a token from ever counting in another shop.
 */

/** The request header a storefront sends the token in. */
export const customerTokenHeader = "x-laurel-customer-token";

export const maxCustomerTokenLifetimeSeconds = 30 * 24 * 60 * 60;
/** Tolerance for a signer's clock running ahead of Laurel's on a token of the longest lifetime. */
const clockLeewaySeconds = 5 * 60;
const maxTokenLength = 1024;

/** Platform customer ids that may name the member; emails and phones may not (shops rarely verify them). */
const subjectKinds: ReadonlySet<IdentifierKind> = new Set(["shopify", "woocommerce", "magento", "external"]);
const memberIdPattern = /^mem_[0-9A-Z]{26}$/;
// Printable ASCII only: header values reach Node as Latin-1, so other characters would not be
// the bytes the signer signed.
const subjectPattern = /^[\x20-\x7e]{1,300}$/;
const expiresPattern = /^[0-9]{1,12}$/;
const signaturePattern = /^[0-9a-fA-F]{64}$/;
// A merge chain is short (a duplicate merged into a member that was later merged itself); the cap
// only guards against a cycle.
const maxMergeHops = 5;

/** The text a customer token's signature covers. */
export function customerTokenMessage(shopId: string, subject: string, expiresUnixSeconds: number | string): string {
  return `${shopId}.${subject}.${expiresUnixSeconds}`;
}

/** Signs a token exactly as the documented recipe does. */
export function signCustomerToken(secret: string, shopId: string, subject: string, expiresUnixSeconds: number): string {
  const signature = createHmac("sha256", secret)
    .update(customerTokenMessage(shopId, subject, expiresUnixSeconds))
    .digest("hex");
  return `${subject}.${expiresUnixSeconds}.${signature}`;
}

/** The member a verified token acts for. */
export interface CustomerIdentity {
  memberId: string;
  /** As written in the token: a member id or `<platform>:<customer id>`. */
  subject: string;
  expiresAt: string;
}

function refuse(detail: string): AppError {
  return new AppError("invalid_customer_token", detail);
}

/** Cancelled and erased members have left: no storefront acts for them. */
function isUsable(row: MembersTable): boolean {
  return row.status !== "cancelled" && row.status !== "erased";
}

/** Splits from the right: an external id may itself contain dots. */
function parse(token: string): { subject: string; expires: string; signature: string } {
  const malformed = refuse("A customer token is <subject>.<expires>.<signature>; this one is not");
  if (token.length > maxTokenLength) throw malformed;
  const signatureDot = token.lastIndexOf(".");
  const expiresDot = signatureDot > 0 ? token.lastIndexOf(".", signatureDot - 1) : -1;
  if (expiresDot <= 0) throw malformed;
  const subject = token.slice(0, expiresDot);
  const expires = token.slice(expiresDot + 1, signatureDot);
  const signature = token.slice(signatureDot + 1);
  if (!subjectPattern.test(subject) || !expiresPattern.test(expires) || !signaturePattern.test(signature)) {
    throw malformed;
  }
  return { subject, expires, signature };
}

async function resolveSubject(
  db: Kysely<Database>,
  shopId: string,
  subject: string,
): Promise<MembersTable | undefined> {
  if (memberIdPattern.test(subject)) return repository.findMember(db, shopId, subject);
  const colon = subject.indexOf(":");
  const kind = subject.slice(0, Math.max(colon, 0)) as IdentifierKind;
  if (!subjectKinds.has(kind)) {
    throw refuse(`The subject must be a member id (mem_…) or shopify:, woocommerce:, magento: or external:<id>`);
  }
  let value: string;
  try {
    value = normalizeIdentifier(kind, subject.slice(colon + 1), {
      defaultCountry: null,
      pointer: `/headers/${customerTokenHeader}`,
    });
  } catch (error) {
    if (error instanceof AppError) throw refuse(`The subject is not a valid ${kind} customer id`);
    throw error;
  }
  const identifier = await repository.findIdentifier(db, shopId, kind, value);
  return identifier ? repository.findMember(db, shopId, identifier.member_id) : undefined;
}

/**
 * Checks a customer token against the calling shop's secret and returns the member it acts for.
 * The signature is checked before anything is looked up, so without the secret nobody learns which
 * subjects exist. A token for a duplicate that was merged acts for the member it was merged into.
 */
export async function verifyCustomerToken(
  db: Kysely<Database>,
  shopId: string,
  token: string,
  now: Date,
): Promise<CustomerIdentity> {
  const { subject, expires, signature } = parse(token);
  const secret = await getCustomerTokenSecret(db, shopId);
  const expected = createHmac("sha256", secret)
    .update(customerTokenMessage(shopId, subject, expires))
    .digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    throw refuse("The signature does not match this shop's customer token secret");
  }
  const expiresAt = Number(expires);
  const nowSeconds = now.getTime() / 1000;
  if (expiresAt <= nowSeconds) {
    throw refuse(`The customer token expired at ${new Date(expiresAt * 1000).toISOString()}`);
  }
  if (expiresAt > nowSeconds + maxCustomerTokenLifetimeSeconds + clockLeewaySeconds) {
    throw refuse("The customer token expires more than 30 days from now; tokens live 30 days at most");
  }
  let row = await resolveSubject(db, shopId, subject);
  for (let hops = 0; row?.merged_into_member_id && hops < maxMergeHops; hops++) {
    row = await repository.findMember(db, shopId, row.merged_into_member_id);
  }
  if (!row) throw refuse(`No member ${subject} in this shop`);
  if (!isUsable(row)) throw refuse(`Member ${row.id} is ${row.status}`);
  return { memberId: row.id, subject, expiresAt: new Date(expiresAt * 1000).toISOString() };
}

/** A token for one member, signed with the shop's current secret, valid for `expiresInSeconds`. */
export async function mintCustomerToken(
  db: Kysely<Database>,
  input: { shopId: string; memberId: string; expiresInSeconds: number },
  now: Date,
): Promise<{ token: string; memberId: string; expiresAt: string }> {
  const row = await repository.findMember(db, input.shopId, input.memberId);
  if (!row) throw new AppError("member_not_found", `No member ${input.memberId} in this shop`);
  if (row.merged_into_member_id) {
    throw new AppError(
      "invalid_field_value",
      `Member ${row.id} was merged into ${row.merged_into_member_id}; mint the token for that member`,
    );
  }
  if (!isUsable(row)) {
    throw new AppError("invalid_field_value", `Member ${row.id} is ${row.status}; a token for it would be refused`);
  }
  const secret = await getCustomerTokenSecret(db, input.shopId);
  const expires = Math.floor(now.getTime() / 1000) + input.expiresInSeconds;
  return {
    token: signCustomerToken(secret, input.shopId, row.id, expires),
    memberId: row.id,
    expiresAt: new Date(expires * 1000).toISOString(),
  };
}
