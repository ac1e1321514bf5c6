import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { problemResponses } from "../../platform/http/problem.js";
import { absentBodyAsEmptyObject } from "../../platform/http/validation.js";
import { getCustomerTokenSecret, rotateCustomerTokenSecret } from "../shops/index.js";
import { maxCustomerTokenLifetimeSeconds, mintCustomerToken } from "./customer-token.js";
import { MemberIdParams } from "./schema.js";

const MintBody = Type.Object(
  {
    expires_in_seconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: maxCustomerTokenLifetimeSeconds,
        default: 3600,
        description: "How long the token works: 60 seconds to 30 days (2592000); default one hour",
      }),
    ),
  },
  { additionalProperties: false, examples: [{ expires_in_seconds: 3600 }] },
);

const CustomerTokenResponse = Type.Object({
  object: Type.Literal("customer_token"),
  token: Type.String({
    description: "Send it as X-Laurel-Customer-Token with the publishable key",
    examples: ["mem_01JD3M8Q6V9KX2T4R7B5N0CZHF.1772370000.5d0c…"],
  }),
  member_id: Type.String(),
  expires_at: Type.String({ format: "date-time" }),
});

const SecretResponse = Type.Object({
  object: Type.Literal("customer_token_secret"),
  secret: Type.String({
    description: "The HMAC-SHA256 key for customer tokens, used as text. Keep it server-side, like a secret key.",
  }),
});

/**
 * Secret-key routes for storefront identity: minting a customer token for a member, and reading or
 * rotating the shop's signing secret for backends that sign tokens themselves.
 */
export function registerCustomerTokenRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Storefront identity"];
  const security = [{ secretKey: [] }];

  routes.post(
    "/v1/members/:id/customer-tokens",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Mint a customer token for a member",
        description:
          "For server-side storefronts: hand the token to the shopper's browser or app, which calls the `/v1/me` endpoints with it and the publishable key. Signed with the shop's current customer token secret, so rotating the secret ends it early. 422 for a cancelled or erased member.",
        params: MemberIdParams,
        body: MintBody,
        response: { 201: CustomerTokenResponse, ...problemResponses(400, 401, 403, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      const minted = await mintCustomerToken(
        deps.database.db,
        {
          shopId: callerOf(request).shopId,
          memberId: request.params.id,
          expiresInSeconds: request.body.expires_in_seconds ?? 3600,
        },
        deps.clock.now(),
      );
      return reply
        .code(201)
        .header("cache-control", "no-store")
        .send({
          object: "customer_token" as const,
          token: minted.token,
          member_id: minted.memberId,
          expires_at: minted.expiresAt,
        });
    },
  );

  routes.get(
    "/v1/shop/customer-token-secret",
    {
      schema: {
        tags,
        security,
        summary: "The shop's customer token secret",
        description:
          "The key a backend or a Shopify app proxy signs customer tokens with (HMAC-SHA256; see docs/members.md). Never put it in a browser, a theme or an app.",
        response: { 200: SecretResponse, ...problemResponses(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const secret = await getCustomerTokenSecret(deps.database.db, callerOf(request).shopId);
      return reply.header("cache-control", "no-store").send({ object: "customer_token_secret" as const, secret });
    },
  );

  routes.post(
    "/v1/shop/customer-token-secret/rotate",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Replace the customer token secret",
        description:
          "Every customer token signed before stops working at once: shoppers get 401 `invalid_customer_token` until their storefront signs or mints a new one.",
        body: Type.Object({}, { additionalProperties: false }),
        response: { 200: SecretResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const secret = await withTransaction(deps.database, (trx) =>
        rotateCustomerTokenSecret(trx, shopId, deps.clock.now()),
      );
      return reply.header("cache-control", "no-store").send({ object: "customer_token_secret" as const, secret });
    },
  );
}
