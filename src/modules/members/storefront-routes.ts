import { createHash } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { AppError, type FieldError } from "../../platform/errors.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import {
  getPointsSummary,
  listTransactions,
  PointsSummarySchema,
  PointsTransactionSchema,
  TransactionsQuerySchema,
  toPointsSummaryJson,
  toTransactionFilter,
  toTransactionJson,
} from "../ledger/index.js";
import { type CustomerIdentity, customerTokenHeader, verifyCustomerToken } from "./customer-token.js";
import { toConsentsJson } from "./representation.js";
import {
  ConsentsResponse,
  MemberResponse,
  profileFrom,
  RecordConsentsBody,
  toMemberResponse,
  UpdateMemberBody,
} from "./schema.js";
import { getCurrentConsents, getMember, recordConsents, updateMember } from "./service.js";
import { consentChannels, consentPurposes } from "./tables.js";

declare module "fastify" {
  interface FastifyRequest {
    /** On storefront routes: the member the request's customer token acts for. */
    customer: CustomerIdentity | null;
  }
}

export const CustomerTokenHeaders = Type.Object({
  [customerTokenHeader]: Type.String({
    description:
      "The shopper's customer token: `<subject>.<expires>.<signature>` (docs/members.md). Required with a secret key too.",
  }),
});

const update = UpdateMemberBody.properties;

/** What a shopper may change about themselves: the profile, never status, identifiers or tags. */
const MeUpdateBody = Type.Object(
  {
    given_name: update.given_name,
    family_name: update.family_name,
    name_order: update.name_order,
    birthday: update.birthday,
    locale: update.locale,
    country: update.country,
    marketing_preferences: update.marketing_preferences,
    attributes: update.attributes,
  },
  { additionalProperties: false, minProperties: 1, examples: [{ given_name: "Ana", birthday: { month: 4, day: 12 } }] },
);

const MeConsentsBody = Type.Object(
  {
    changes: Type.Array(
      Type.Object(
        {
          purpose: Type.Enum(consentPurposes),
          granted: Type.Boolean(),
          channel: Type.Optional(
            Type.Enum(consentChannels, { default: "web", description: "Where the shopper said it; default web" }),
          ),
          source: Type.String({ minLength: 1, maxLength: 200, description: "What asked, e.g. account_page_toggle" }),
          wording_version: Type.Optional(
            Type.String({ minLength: 1, maxLength: 100, description: "The version of the text the shopper saw" }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10 },
    ),
    ip_address: Type.Optional({
      ...RecordConsentsBody.properties.ip_address,
      description: "Secret key only (a backend relaying the shopper's); otherwise the request's own address",
    }),
    user_agent: Type.Optional({
      ...RecordConsentsBody.properties.user_agent,
      description: "Secret key only; otherwise the request's User-Agent header",
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        changes: [
          { purpose: "email_marketing", granted: true, source: "account_page_toggle", wording_version: "2026-01" },
        ],
      },
    ],
  },
);

const maxUserAgentLength = 500;
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/** The member a storefront request acts for; only on routes behind `authenticateCustomer`. */
export function customerOf(request: FastifyRequest): CustomerIdentity {
  if (!request.customer) throw new Error(`route ${request.routeOptions.url} has no customer`);
  return request.customer;
}

/**
 * Runs after the API key check (route hooks follow the app's), before the body is read. Besides
 * proving the member, it scopes the Idempotency-Key to that member: the idempotency layer keys
 * stored responses by shop, and every shopper of a shop shares the publishable key and these paths,
 * so an unscoped key would let one shopper replay another's stored response.
 */
export function authenticateCustomer(deps: AppDeps) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header("cache-control", "private, no-store");
    const header = request.headers[customerTokenHeader];
    const token = typeof header === "string" ? header.trim() : "";
    if (token === "") {
      throw new AppError(
        "customer_token_required",
        "Send the shopper's customer token as X-Laurel-Customer-Token: <token>",
      );
    }
    const customer = await verifyCustomerToken(deps.database.db, callerOf(request).shopId, token, deps.clock.now());
    request.customer = customer;
    const idempotencyKey = request.headers["idempotency-key"];
    if (typeof idempotencyKey === "string" && idempotencyKeyPattern.test(idempotencyKey)) {
      request.headers["idempotency-key"] = `me_${createHash("sha256")
        .update(`${customer.memberId}\n${idempotencyKey}`)
        .digest("base64url")}`;
    }
  };
}

/**
 * The storefront's own view of one member: the shop's publishable key (or a secret key) plus a
 * customer token, which alone decides the member. Nothing here takes a member id.
 */
export function registerStorefrontRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.decorateRequest("customer", null);
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Storefront"];
  // Either key opens these routes; the customer token is required with both.
  const security: Array<Record<string, string[]>> = [{ publishableKey: [] }, { secretKey: [] }];
  const config = { auth: "publishable" as const };
  const onRequest = authenticateCustomer(deps);

  routes.get(
    "/v1/me",
    {
      config,
      onRequest,
      schema: {
        tags,
        security,
        summary: "The shopper's member record",
        description: "The same member JSON as GET /v1/members/{id}, for the member the customer token names.",
        headers: CustomerTokenHeaders,
        response: { 200: MemberResponse, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) =>
      toMemberResponse(await getMember(deps.database.db, callerOf(request).shopId, customerOf(request).memberId)),
  );

  routes.patch(
    "/v1/me",
    {
      config,
      onRequest,
      schema: {
        tags,
        security,
        summary: "Update the shopper's own profile",
        description:
          "Profile fields only: names, name order, birthday, locale, country, marketing preferences and attributes. Status, identifiers and tags change through the secret-key API; sending them is 400.",
        headers: CustomerTokenHeaders,
        body: MeUpdateBody,
        response: { 200: MemberResponse, ...problemResponses(400, 401, 403, 409, 422, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const { memberId } = customerOf(request);
      const member = await withTransaction(deps.database, (trx) =>
        updateMember(trx, { shopId, memberId, profile: profileFrom(request.body) }, deps.clock.now()),
      );
      return toMemberResponse(member);
    },
  );

  routes.get(
    "/v1/me/points",
    {
      config,
      onRequest,
      schema: {
        tags,
        security,
        summary: "The shopper's points: available, pending, reserved, lifetime totals and what expires next",
        headers: CustomerTokenHeaders,
        response: { 200: PointsSummarySchema, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) =>
      toPointsSummaryJson(
        await getPointsSummary(deps.database, callerOf(request).shopId, customerOf(request).memberId, deps.clock.now()),
      ),
  );

  routes.get(
    "/v1/me/points/transactions",
    {
      config,
      onRequest,
      schema: {
        tags,
        security,
        summary: "The shopper's points history, newest first",
        headers: CustomerTokenHeaders,
        querystring: TransactionsQuerySchema,
        response: { 200: Page(PointsTransactionSchema), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const transactions = await listTransactions(
        deps.database,
        callerOf(request).shopId,
        customerOf(request).memberId,
        toTransactionFilter(request.query, decodeCursor(request.query.cursor)),
        deps.clock.now(),
      );
      return toPage(transactions, request.query.limit, toTransactionJson);
    },
  );

  routes.get(
    "/v1/me/consents",
    {
      config,
      onRequest,
      schema: {
        tags,
        security,
        summary: "The shopper's current consent for every purpose",
        description: "A purpose is granted only when its latest record grants it: nothing is granted by default.",
        headers: CustomerTokenHeaders,
        response: { 200: ConsentsResponse, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) => {
      const { memberId } = customerOf(request);
      return toConsentsJson(memberId, await getCurrentConsents(deps.database.db, callerOf(request).shopId, memberId));
    },
  );

  routes.post(
    "/v1/me/consents",
    {
      config,
      onRequest,
      schema: {
        tags,
        security,
        summary: "Record consent the shopper gave or withdrew",
        description:
          "Each change is a new record with the request's IP address and User-Agent (a backend calling with a secret key may pass the shopper's in `ip_address` and `user_agent` instead). `channel` defaults to web. Emits consent.updated.",
        headers: CustomerTokenHeaders,
        body: MeConsentsBody,
        response: { 201: ConsentsResponse, ...problemResponses(400, 401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { memberId } = customerOf(request);
      const body = request.body;
      if (caller.kind !== "secret") {
        // A browser could claim any address; only a server relaying the shopper's may say.
        const relayed: FieldError[] = (["ip_address", "user_agent"] as const)
          .filter((field) => body[field] !== undefined)
          .map((field) => ({ pointer: `/body/${field}`, message: "is taken from the request with a publishable key" }));
        if (relayed.length > 0) {
          throw new AppError(
            "invalid_field_value",
            "ip_address and user_agent come from the request itself; only a secret key may pass them",
            { errors: relayed },
          );
        }
      }
      const userAgent = request.headers["user-agent"]?.slice(0, maxUserAgentLength) || null;
      const purposes = await withTransaction(deps.database, async (trx) => {
        await recordConsents(
          trx,
          caller.shopId,
          memberId,
          body.changes.map((change) => ({
            purpose: change.purpose,
            granted: change.granted,
            channel: change.channel ?? "web",
            source: change.source,
            wordingVersion: change.wording_version,
            ipAddress: body.ip_address ?? request.ip,
            userAgent: body.user_agent ?? userAgent,
          })),
          deps.clock.now(),
        );
        return getCurrentConsents(trx, caller.shopId, memberId);
      });
      return reply.code(201).send(toConsentsJson(memberId, purposes));
    },
  );
}
