import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { Type } from "typebox";
import { type EventBody, IngestSession, ingestInTransaction } from "../modules/events/index.js";
import type { EventsTable } from "../modules/events/tables.js";
import type { Actor } from "../modules/ledger/index.js";
import { normalizeIdentifier } from "../modules/members/identifiers.js";
import { createMember, updateMember } from "../modules/members/index.js";
import type { IdentifierKind } from "../modules/members/tables.js";
import { getShop, type Shop } from "../modules/shops/index.js";
import { isUniqueViolation } from "../platform/db/constraint-errors.js";
import { type Tx, withTransaction } from "../platform/db/transaction.js";
import type { AppDeps } from "../platform/deps.js";
import { AppError, isAppError } from "../platform/errors.js";
import { callerOf } from "../platform/http/auth.js";
import { problemResponses } from "../platform/http/problem.js";
import {
  connectIntegration,
  disconnectIntegration,
  findIntegrationByAccount,
  getIntegration,
  listIntegrations,
  normalizeShopifyDomain,
  normalizeWooSiteUrl,
  platformName,
  toIntegrationResponse,
} from "./connections.js";
import type { Platform, PlatformCustomer, PlatformOrder, PlatformRefund } from "./orders.js";
import { getDiscountCodeSettings, setDiscountCodeSettings } from "./shopify/discount-sync.js";
import { readShopifyHeaders, shopifyDeliveryPlan } from "./shopify/webhooks.js";
import { verifyBase64HmacSha256 } from "./signatures.js";
import type { WebhookDeliveriesTable } from "./tables.js";
import { isWooPing, readWooHeaders, wooDeliveryKey, wooDeliveryPlan, wooSigningKey } from "./woocommerce/webhooks.js";

/*
 * The integrations API: connecting a store (secret key), and the signed webhook endpoints the
 * stores call (no key: the signature is the authentication). A delivery is handled in one
 * database transaction: its webhook_deliveries row and every event or member change it causes
 * commit together or not at all.
 */

// ---------------------------------------------------------------------------------------------
// What a delivery asks for (built by shopify/webhooks.ts and woocommerce/webhooks.ts)
// ---------------------------------------------------------------------------------------------

export type DeliveryAction =
  | { kind: "order.paid"; order: PlatformOrder; occurredAt: string }
  | { kind: "order.refunded"; refund: PlatformRefund }
  | { kind: "order.cancelled"; order: PlatformOrder; occurredAt: string | null };

export interface DeliveryPlan {
  /** Events to record, in this order. */
  actions: DeliveryAction[];
  /** A customer to find or create the member of (customers/* topics). */
  customer: PlatformCustomer | null;
  /** Why the delivery records nothing: a topic Laurel does not handle, an order not paid yet. */
  ignored: string | null;
}

/** One event of a delivery, as its result lists it. */
export interface DeliveryEvent {
  /** Null when the event was refused (`status: "failed"`). */
  id: string | null;
  type: string;
  external_id: string | null;
  status: "processed" | "skipped" | "failed";
  reason: string | null;
  points: number;
  member_id: string | null;
  /** The event had been recorded before (by an earlier delivery): nothing changed. */
  duplicate: boolean;
  /** For a refused event: the problem code and detail. */
  error?: { code: string; detail: string };
}

/** What a delivery did, stored as `webhook_deliveries.result` and answered again on a redelivery. */
export interface DeliveryResult {
  topic: string;
  events: DeliveryEvent[];
  member_id: string | null;
  ignored: string | null;
  notes: string[];
}

const systemActor: Actor = { type: "system", id: null };

// ---------------------------------------------------------------------------------------------
// Events from platform orders and refunds
// ---------------------------------------------------------------------------------------------

const maxProductIds = 250;

/** An email or phone in its stored form, or null (with a note) when the members module refuses it. */
function identifier(
  kind: "email" | "phone",
  raw: string | null,
  shop: Shop,
  notes: string[],
  pointer: string,
): string | null {
  if (raw === null) return null;
  try {
    return normalizeIdentifier(kind, raw, { defaultCountry: shop.defaultCountry, pointer });
  } catch (error) {
    if (!isAppError(error)) throw error;
    notes.push(`the customer's ${kind} ${JSON.stringify(raw)} is not linked: ${error.message}`);
    return null;
  }
}

function name(value: string | null): string | undefined {
  return value === null ? undefined : value.slice(0, 100);
}

/**
 * The member an order event names: the platform customer id first, then email and phone (each
 * only when valid: a phone typed in free text must not lose the order its points). None for a
 * guest checkout, whose event is then stored skipped.
 */
function eventMember(
  platform: Platform,
  customer: PlatformCustomer | null,
  shop: Shop,
  notes: string[],
): EventBody["member"] {
  if (customer === null || customer.platformId === null) return undefined;
  const member: NonNullable<EventBody["member"]> =
    platform === "shopify" ? { shopify_id: customer.platformId } : { woocommerce_id: customer.platformId };
  const email = identifier("email", customer.email, shop, notes, "/body/customer/email");
  const phone = identifier("phone", customer.phone, shop, notes, "/body/customer/phone");
  if (email !== null) member.email = email;
  if (phone !== null) member.phone = phone;
  const givenName = name(customer.firstName);
  const familyName = name(customer.lastName);
  if (givenName !== undefined) member.given_name = givenName;
  if (familyName !== undefined) member.family_name = familyName;
  return member;
}

interface EventContext {
  platform: Platform;
  shop: Shop;
  topic: string;
  deliveryId: string;
  notes: string[];
}

function orderPaidBody(order: PlatformOrder, occurredAt: string, context: EventContext): EventBody {
  const { shop } = context;
  const subtotal = Math.min(order.subtotal, order.total);
  const productIds = [
    ...new Set(order.lineItems.flatMap((item) => (item.productId === null ? [] : [item.productId]))),
  ].slice(0, maxProductIds);
  const body: EventBody = {
    type: "order.paid",
    source: context.platform,
    external_id: `order:${order.externalId}:paid`,
    occurred_at: occurredAt,
    order: {
      id: order.externalId,
      currency: order.currency,
      total: order.total,
      subtotal,
      product_ids: productIds,
    },
    data: { webhook_topic: context.topic, webhook_delivery_id: context.deliveryId },
  };
  const eventOrder = body.order as NonNullable<EventBody["order"]>;
  if (order.orderNumber !== null) eventOrder.number = order.orderNumber.slice(0, 100);
  // The platform's own conversion is used when it is into the Laurel shop's currency; amounts in
  // another shop currency are left to the exchange-rate table.
  if (order.shopMoney !== null) {
    if (order.shopMoney.currency === shop.baseCurrency) {
      eventOrder.shop_money = {
        currency: order.shopMoney.currency,
        total: order.shopMoney.total,
        subtotal: Math.min(order.shopMoney.subtotal, order.shopMoney.total),
      };
    } else if (order.currency !== shop.baseCurrency) {
      context.notes.push(
        `the order's shop money is in ${order.shopMoney.currency}, not the shop currency ${shop.baseCurrency}: it is not used`,
      );
    }
  }
  if (order.sourceName !== null) eventOrder.channel = order.sourceName.slice(0, 100);
  const codes = order.discountCodes.filter((code) => code.length > 0 && code.length <= 100);
  if (codes.length > 0) eventOrder.discount_codes = codes.slice(0, 50);
  if (order.cartId) eventOrder.cart_id = order.cartId.slice(0, 200);
  if (order.country !== null) eventOrder.country = order.country;
  const member = eventMember(context.platform, order.customer, shop, context.notes);
  if (member !== undefined) body.member = member;
  return body;
}

function eventBody(action: DeliveryAction, context: EventContext): EventBody {
  const data = { webhook_topic: context.topic, webhook_delivery_id: context.deliveryId };
  switch (action.kind) {
    case "order.paid":
      return orderPaidBody(action.order, action.occurredAt, context);
    case "order.refunded": {
      const { refund } = action;
      return {
        type: "order.refunded",
        source: context.platform,
        external_id: `refund:${refund.refundId}`,
        occurred_at: refund.createdAt,
        order: { id: refund.orderExternalId },
        refund: { id: refund.refundId, amount: refund.amount, currency: refund.currency },
        data,
      };
    }
    case "order.cancelled":
      return {
        type: "order.cancelled",
        source: context.platform,
        external_id: `order:${action.order.externalId}:cancelled`,
        ...(action.occurredAt === null ? {} : { occurred_at: action.occurredAt }),
        order: { id: action.order.externalId },
        data,
      };
  }
}

function summary(event: EventsTable, duplicate: boolean): DeliveryEvent {
  return {
    id: event.id,
    type: event.type,
    external_id: event.external_id,
    status: event.status,
    reason: event.reason,
    points: event.points,
    member_id: event.member_id,
    duplicate,
  };
}

// ---------------------------------------------------------------------------------------------
// Members from platform customers
// ---------------------------------------------------------------------------------------------

let savepointCounter = 0;

/** Runs `work` in a savepoint, so a refusal leaves nothing half-written in the delivery's transaction. */
async function inSavepoint<T>(trx: Tx, work: () => Promise<T>): Promise<T> {
  const savepoint = sql.raw(`integration_${++savepointCounter}`);
  await sql`savepoint ${savepoint}`.execute(trx);
  try {
    const result = await work();
    await sql`release savepoint ${savepoint}`.execute(trx);
    return result;
  } catch (error) {
    await sql`rollback to savepoint ${savepoint}`.execute(trx);
    await sql`release savepoint ${savepoint}`.execute(trx);
    throw error;
  }
}

/**
 * Finds the member of a platform customer, or creates one: by the platform customer id, else by
 * email, else by phone. The customer's identifiers that nobody holds are linked to the member
 * (the platform id first of all), and its names applied; an identifier of another member is left
 * where it is, with a note: a webhook never merges people nor fails over it. A cancelled or erased
 * member is not changed.
 */
async function syncCustomer(
  trx: Tx,
  shop: Shop,
  platform: Platform,
  customer: PlatformCustomer,
  notes: string[],
  now: Date,
): Promise<string | null> {
  if (customer.platformId === null) return null;
  const candidates: Array<{ kind: IdentifierKind; value: string }> = [
    {
      kind: platform,
      value: normalizeIdentifier(platform, customer.platformId, { defaultCountry: null, pointer: "/body/id" }),
    },
  ];
  const email = identifier("email", customer.email, shop, notes, "/body/email");
  const phone = identifier("phone", customer.phone, shop, notes, "/body/phone");
  if (email !== null) candidates.push({ kind: "email", value: email });
  if (phone !== null) candidates.push({ kind: "phone", value: phone });

  const holders: Array<string | undefined> = [];
  for (const candidate of candidates) {
    const row = await trx
      .selectFrom("member_identifiers")
      .select("member_id")
      .where("shop_id", "=", shop.id)
      .where("kind", "=", candidate.kind)
      .where("value", "=", candidate.value)
      .executeTakeFirst();
    holders.push(row?.member_id);
  }
  const profile = { givenName: name(customer.firstName), familyName: name(customer.lastName) };
  const memberId = holders.find((holder) => holder !== undefined);
  if (memberId === undefined) {
    const member = await createMember(trx, { shopId: shop.id, identifiers: candidates, profile }, now);
    return member.id;
  }
  const row = await trx
    .selectFrom("members")
    .select("status")
    .where("shop_id", "=", shop.id)
    .where("id", "=", memberId)
    .executeTakeFirstOrThrow();
  if (row.status === "cancelled" || row.status === "erased") {
    notes.push(`member ${memberId} is ${row.status}: nothing about it was changed`);
    return memberId;
  }
  const free = candidates.filter((candidate, index) => {
    const holder = holders[index];
    if (holder !== undefined && holder !== memberId) {
      notes.push(
        `the ${candidate.kind} ${candidate.value} belongs to member ${holder}: not linked to member ${memberId}`,
      );
    }
    return holder === undefined;
  });
  await updateMember(trx, { shopId: shop.id, memberId, profile, identifiers: free }, now);
  return memberId;
}

// ---------------------------------------------------------------------------------------------
// Receiving a delivery
// ---------------------------------------------------------------------------------------------

interface IncomingDelivery {
  platform: Platform;
  /** The store as the headers name it, normalized; null when the header names no valid store. */
  account: string | null;
  /** The store as the headers name it, for messages. */
  accountAsSent: string;
  signatureHeader: string;
  verify(secret: string): boolean;
  /** The platform's delivery id, echoed in the answer. */
  deliveryId: string;
  /** What deduplicates the delivery (webhook_deliveries.delivery_id). */
  deliveryKey: string;
  topic: string;
  raw: Buffer;
  plan(): DeliveryPlan;
}

interface Received {
  result: DeliveryResult;
  duplicate: boolean;
}

/** The delivery row already holds this key: another request committed the same delivery first. */
class DeliveryTaken extends Error {}

async function findDelivery(deps: AppDeps, shopId: string, platform: Platform, key: string) {
  return deps.database.db
    .selectFrom("webhook_deliveries")
    .select("result")
    .where("shop_id", "=", shopId)
    .where("platform", "=", platform)
    .where("delivery_id", "=", key)
    .executeTakeFirst();
}

async function applyPlan(
  trx: Tx,
  input: { shop: Shop; incoming: IncomingDelivery; plan: DeliveryPlan; log: FastifyBaseLogger },
  now: Date,
): Promise<DeliveryResult> {
  const { shop, incoming, plan, log } = input;
  const notes: string[] = [];
  const result: DeliveryResult = { topic: incoming.topic, events: [], member_id: null, ignored: plan.ignored, notes };
  if (plan.customer !== null) {
    const customer = plan.customer;
    try {
      result.member_id = await inSavepoint(trx, () => syncCustomer(trx, shop, incoming.platform, customer, notes, now));
    } catch (error) {
      if (!isAppError(error)) throw error;
      notes.push(`the member could not be updated: ${error.message}`);
      log.warn({ err: error, platform: incoming.platform, topic: incoming.topic }, "webhook customer not synced");
    }
  }
  const context: EventContext = {
    platform: incoming.platform,
    shop,
    topic: incoming.topic,
    deliveryId: incoming.deliveryId,
    notes,
  };
  const session = new IngestSession(shop.id);
  for (const action of plan.actions) {
    const body = eventBody(action, context);
    try {
      const { event, duplicate } = await ingestInTransaction(
        trx,
        session,
        body,
        { defaultSource: incoming.platform, actor: systemActor, pointer: "/body" },
        now,
      );
      result.events.push(summary(event, duplicate));
    } catch (error) {
      // A refused event (a refund in another currency than its order, a date a day ahead) is
      // reported in the result and the rest of the delivery stands: answering an error would
      // make the platform send the same body again and again, and in the end drop the webhook.
      if (!isAppError(error)) throw error;
      log.warn({ err: error, platform: incoming.platform, topic: incoming.topic }, "webhook event refused");
      result.events.push({
        id: null,
        type: body.type,
        external_id: body.external_id ?? null,
        status: "failed",
        reason: error.message,
        points: 0,
        member_id: null,
        duplicate: false,
        error: { code: error.code, detail: error.message },
      });
    }
  }
  result.member_id ??= result.events.find((event) => event.member_id !== null)?.member_id ?? null;
  return result;
}

/**
 * Verifies and handles one delivery: the store must be connected (else 401, nothing stored), the
 * signature must match its secret (else 401, nothing stored); a delivery seen before answers its
 * first result; then the body is read (a bad one is 400, nothing stored) and applied in one
 * transaction with its webhook_deliveries row.
 */
async function receiveDelivery(deps: AppDeps, log: FastifyBaseLogger, incoming: IncomingDelivery): Promise<Received> {
  const { platform } = incoming;
  const integration =
    incoming.account === null
      ? undefined
      : await findIntegrationByAccount(deps.database.db, platform, incoming.account);
  if (!integration) {
    throw new AppError(
      "invalid_webhook_signature",
      `No shop has the ${platformName(platform)} store ${JSON.stringify(incoming.accountAsSent)} connected, so the delivery cannot be verified; connect it with PUT /v1/integrations/${platform}`,
    );
  }
  if (!incoming.verify(integration.webhook_secret)) {
    throw new AppError(
      "invalid_webhook_signature",
      `${incoming.signatureHeader} does not match the body signed with the webhook secret connected for ${integration.account}; check the secret given to PUT /v1/integrations/${platform}, and that nothing between the store and Laurel changes the body`,
    );
  }
  const shopId = integration.shop_id;
  const replay = (row: { result: string }): Received => ({
    result: JSON.parse(row.result) as DeliveryResult,
    duplicate: true,
  });
  const seen = await findDelivery(deps, shopId, platform, incoming.deliveryKey);
  if (seen) return replay(seen);

  const plan = incoming.plan();
  const shop = await getShop(deps.database.db, shopId);
  const now = deps.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await withTransaction(deps.database, async (trx) => {
        const row: WebhookDeliveriesTable = {
          shop_id: shopId,
          platform,
          delivery_id: incoming.deliveryKey,
          topic: incoming.topic,
          result: "{}",
          // An ignored body is not kept: it may be personal data Laurel has no use for.
          payload: plan.ignored === null ? incoming.raw.toString("utf8") : null,
          received_at: now.toISOString(),
        };
        // First, so a concurrent copy of the delivery waits here (PostgreSQL) and then finds it.
        const inserted = await trx
          .insertInto("webhook_deliveries")
          .values(row)
          .onConflict((conflict) => conflict.columns(["shop_id", "platform", "delivery_id"]).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw new DeliveryTaken();
        const applied = await applyPlan(trx, { shop, incoming, plan, log }, now);
        await trx
          .updateTable("webhook_deliveries")
          .set({ result: JSON.stringify(applied) })
          .where("shop_id", "=", shopId)
          .where("platform", "=", platform)
          .where("delivery_id", "=", incoming.deliveryKey)
          .execute();
        return applied;
      });
      return { result, duplicate: false };
    } catch (error) {
      // Lost a race: to a copy of this delivery (answer its result), or to another request
      // creating the same member (try again, now finding it).
      if (!(error instanceof DeliveryTaken || isUniqueViolation(error)) || attempt >= 3) throw error;
      const stored = await findDelivery(deps, shopId, platform, incoming.deliveryKey);
      if (stored) return replay(stored);
    }
  }
}

function sendReceived(reply: FastifyReply, deliveryId: string, received: Received): FastifyReply {
  const { result, duplicate } = received;
  if (duplicate) reply.header("idempotent-replayed", "true");
  return reply.code(200).send({
    delivery_id: deliveryId,
    topic: result.topic,
    duplicate,
    events: result.events,
    member_id: result.member_id,
    ignored: result.ignored,
    notes: result.notes,
  });
}

function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

const PlatformParams = Type.Object({
  platform: Type.Union([Type.Literal("shopify"), Type.Literal("woocommerce")], {
    description: "The store platform",
  }),
});

const Timestamp = Type.String({ format: "date-time" });

const IntegrationResponse = Type.Object(
  {
    object: Type.Literal("integration"),
    platform: Type.Union([Type.Literal("shopify"), Type.Literal("woocommerce")]),
    account: Type.String({
      description: "The store: the Shopify shop domain, or the WooCommerce site URL, as Laurel stores it",
      examples: ["example.myshopify.com", "https://example.com/"],
    }),
    webhook_secret_set: Type.Literal(true, { description: "The secret is stored; it is never returned" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "Integration" },
);

const ConnectBody = Type.Object(
  {
    account: Type.String({
      minLength: 1,
      maxLength: 2000,
      description:
        'Shopify: the shop domain, e.g. "example.myshopify.com" (stored lower-cased). WooCommerce: the site URL as WooCommerce sends it in X-WC-Webhook-Source, e.g. "https://example.com/" (scheme and host lower-cased, the path kept, a trailing slash added)',
    }),
    webhook_secret: Type.String({
      minLength: 1,
      maxLength: 1000,
      description:
        "Shopify: the app's client secret (or the secret shown under Settings → Notifications → Webhooks). WooCommerce: the webhook's secret. Write-only",
    }),
  },
  { additionalProperties: false },
);

export function registerIntegrationRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Integrations"];
  const security = [{ secretKey: [] }];

  routes.get(
    "/v1/integrations",
    {
      schema: {
        tags,
        security,
        summary: "List the store platforms connected to the shop",
        response: { 200: Type.Object({ data: Type.Array(IntegrationResponse) }), ...problemResponses(401, 403, 429) },
      },
    },
    async (request) => ({
      data: (await listIntegrations(deps.database.db, callerOf(request).shopId)).map(toIntegrationResponse),
    }),
  );

  routes.get(
    "/v1/integrations/:platform",
    {
      schema: {
        tags,
        security,
        summary: "Get the shop's connection to a store platform",
        description: "404 `integration_not_found` when the shop has no store of the platform connected.",
        params: PlatformParams,
        response: { 200: IntegrationResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) =>
      toIntegrationResponse(await getIntegration(deps.database.db, callerOf(request).shopId, request.params.platform)),
  );

  routes.put(
    "/v1/integrations/:platform",
    {
      schema: {
        tags,
        security,
        summary: "Connect a store (create or replace)",
        description:
          "Connects the shop's Shopify store or WooCommerce site, so its signed webhooks reach the shop at POST /v1/integrations/{platform}/webhooks. 201 when the shop had no store of the platform, 200 when this replaces its account or secret. A store connected to another shop is 409 `integration_account_taken`; an account that is no shop domain or site URL is 422 `invalid_field_value`. The secret is never returned.",
        params: PlatformParams,
        body: ConnectBody,
        response: {
          200: IntegrationResponse,
          201: IntegrationResponse,
          ...problemResponses(400, 401, 403, 409, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { integration, created } = await connectIntegration(
        deps.database,
        {
          shopId: callerOf(request).shopId,
          platform: request.params.platform,
          account: request.body.account,
          webhookSecret: request.body.webhook_secret,
        },
        deps.clock.now(),
      );
      return reply.code(created ? 201 : 200).send(toIntegrationResponse(integration));
    },
  );

  routes.delete(
    "/v1/integrations/:platform",
    {
      schema: {
        tags,
        security,
        summary: "Disconnect a store",
        description:
          "The store's webhooks are refused from then on (401). What its deliveries recorded stays. 404 when no store of the platform is connected.",
        params: PlatformParams,
        response: { 204: Type.Null({ description: "Disconnected" }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await disconnectIntegration(deps.database.db, callerOf(request).shopId, request.params.platform);
      return reply.code(204).send(null);
    },
  );

  const DiscountCodeSettings = Type.Object(
    {
      object: Type.Literal("shopify_discount_codes"),
      enabled: Type.Boolean({ description: "Redemption codes become Shopify discounts" }),
      admin_access_token_set: Type.Boolean({ description: "The Admin API token is stored; it is never returned" }),
    },
    { $id: "ShopifyDiscountCodes" },
  );
  const toSettingsJson = (settings: { enabled: boolean; accessTokenSet: boolean }) => ({
    object: "shopify_discount_codes" as const,
    enabled: settings.enabled,
    admin_access_token_set: settings.accessTokenSet,
  });

  routes.put(
    "/v1/integrations/shopify/discount-codes",
    {
      schema: {
        tags,
        security,
        summary: "Turn redemption codes as Shopify discounts on or off",
        description:
          "With `enabled: true`, each redemption's code is created in the connected Shopify store as a price rule and discount code (docs/integrations/shopify-discounts.md) before the redemption answers; a failure to reach Shopify is retried by the sweep. Needs `admin_access_token` (a custom app token with `write_price_rules`), now or stored earlier. 404 `integration_not_found` when no Shopify store is connected.",
        body: Type.Object(
          {
            enabled: Type.Boolean(),
            admin_access_token: Type.Optional(
              Type.String({ minLength: 1, maxLength: 500, description: "Write-only; absent keeps the stored token" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: DiscountCodeSettings, ...problemResponses(400, 401, 403, 404, 422, 429) },
      },
    },
    async (request) =>
      toSettingsJson(
        await withTransaction(deps.database, (trx) =>
          setDiscountCodeSettings(
            trx,
            {
              shopId: callerOf(request).shopId,
              enabled: request.body.enabled,
              accessToken: request.body.admin_access_token,
            },
            deps.clock.now(),
          ),
        ),
      ),
  );

  routes.get(
    "/v1/integrations/shopify/discount-codes",
    {
      schema: {
        tags,
        security,
        summary: "Whether redemption codes become Shopify discounts",
        response: { 200: DiscountCodeSettings, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toSettingsJson(await getDiscountCodeSettings(deps.database.db, callerOf(request).shopId)),
  );

  // The webhooks need the exact bytes received to check the signature, so this scope reads every
  // body as a Buffer; the rest of the API keeps its JSON parser. They take no API key (the
  // signature authenticates them) and are left out of the OpenAPI document, which describes the
  // keyed API.
  app.register(async (scope) => {
    const keepBytes = (_request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: Buffer) => void) =>
      done(null, body);
    scope.addContentTypeParser("application/json", { parseAs: "buffer" }, keepBytes);
    scope.addContentTypeParser("*", { parseAs: "buffer" }, keepBytes);

    scope.post(
      "/v1/integrations/shopify/webhooks",
      { config: { auth: "none" }, schema: { hide: true } },
      async (request, reply) => {
        const raw = rawBody(request);
        const headers = readShopifyHeaders(request.headers);
        const received = await receiveDelivery(deps, request.log, {
          platform: "shopify",
          account: normalizeShopifyDomain(headers.shopDomain),
          accountAsSent: headers.shopDomain,
          signatureHeader: "X-Shopify-Hmac-Sha256",
          verify: (secret) => verifyBase64HmacSha256(raw, secret, headers.hmac),
          deliveryId: headers.webhookId,
          deliveryKey: headers.webhookId,
          topic: headers.topic,
          raw,
          plan: () => shopifyDeliveryPlan(headers.topic, raw),
        });
        return sendReceived(reply, headers.webhookId, received);
      },
    );

    scope.post(
      "/v1/integrations/woocommerce/webhooks",
      { config: { auth: "none" }, schema: { hide: true } },
      async (request, reply) => {
        const raw = rawBody(request);
        if (isWooPing(request.headers, raw)) return reply.code(200).send({ ping: true });
        const headers = readWooHeaders(request.headers);
        const received = await receiveDelivery(deps, request.log, {
          platform: "woocommerce",
          account: normalizeWooSiteUrl(headers.source),
          accountAsSent: headers.source,
          signatureHeader: "X-WC-Webhook-Signature",
          verify: (secret) => verifyBase64HmacSha256(raw, wooSigningKey(secret), headers.signature),
          deliveryId: headers.deliveryId,
          deliveryKey: wooDeliveryKey(headers.deliveryId, raw),
          topic: headers.topic,
          raw,
          plan: () => wooDeliveryPlan(headers.topic, raw),
        });
        return sendReceived(reply, headers.deliveryId, received);
      },
    );
  });
}
