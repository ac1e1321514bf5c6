import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { type Static, Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { AppError } from "../../platform/errors.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, encodeCursor, PageQuery } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import type { Actor } from "../ledger/index.js";
import { authenticateCustomer, CustomerTokenHeaders, customerOf } from "../members/index.js";
import { getShop } from "../shops/index.js";
import {
  applyCheckoutPoints,
  type CheckoutPoints,
  commitCheckoutPoints,
  defaultHoldSeconds,
  getCheckoutPoints,
  maxHoldSeconds,
  removeCheckoutPoints,
} from "./checkout.js";
import { getStoreCredit, spendStoreCredit, toStoreCreditEntryJson } from "./store-credit.js";

const CartParams = Type.Object(
  {
    cart_id: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "The platform's cart or checkout token (Shopify: the order's cart_token)",
    }),
  },
  { additionalProperties: false },
);

const Cart = Type.Object(
  {
    total: Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: "Minor units: the points may take off at most this",
    }),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  },
  { additionalProperties: false },
);

const pointsField = Type.Integer({
  minimum: 1,
  maximum: 1_000_000_000,
  description: "A multiple of the shop's points step (see docs/rewards.md)",
});
const holdField = Type.Optional(
  Type.Integer({
    minimum: 60,
    maximum: maxHoldSeconds,
    description: `How long the points stay held unless the order is paid; default ${defaultHoldSeconds}`,
  }),
);

const ApplyBody = Type.Object(
  {
    member_id: Type.String({ minLength: 1, maxLength: 100 }),
    points: pointsField,
    cart: Cart,
    hold_seconds: holdField,
  },
  {
    additionalProperties: false,
    examples: [{ member_id: "mem_01JD3M8Q6V9KX2T4R7B5N0CZHE", points: 500, cart: { total: 4200, currency: "USD" } }],
  },
);
const StorefrontApplyBody = Type.Object(
  { points: pointsField, cart: Cart, hold_seconds: holdField },
  { additionalProperties: false },
);
const CommitBody = Type.Object(
  { order_id: Type.String({ minLength: 1, maxLength: 100, description: "The order the points paid toward" }) },
  { additionalProperties: false },
);

const CheckoutPointsResponse = Type.Object(
  {
    object: Type.Literal("checkout_points"),
    cart_id: Type.String(),
    member_id: Type.String(),
    points: Type.Integer(),
    discount: Type.Object(
      { amount: Type.Integer({ description: "Minor units" }), currency: Type.String() },
      { description: "What the points take off the cart, at the shop's redemption rate" },
    ),
    status: Type.Union(
      [Type.Literal("active"), Type.Literal("committed"), Type.Literal("released"), Type.Literal("expired")],
      { description: "active: held; committed: spent on order_id; released: taken off; expired: the hold ran out" },
    ),
    expires_at: Type.String({ format: "date-time" }),
    order_id: Type.Union([Type.String(), Type.Null()]),
    reservation_id: Type.String({ description: "The ledger reservation (GET /v1/points/reservations/{id})" }),
    replayed: Type.Optional(Type.Boolean({ description: "The same points were already on the cart" })),
    created_at: Type.String({ format: "date-time" }),
    updated_at: Type.String({ format: "date-time" }),
  },
  { $id: "CheckoutPoints" },
);

const MemberParams = Type.Object({ id: Type.String({ maxLength: 100 }) }, { additionalProperties: false });
const MoneyAmount = Type.Object(
  {
    amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "Minor units" }),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  },
  { additionalProperties: false },
);
const StoreCreditEntry = Type.Object({
  id: Type.String(),
  object: Type.Literal("store_credit_entry"),
  amount: Type.Object(
    { amount: Type.Integer(), currency: Type.String() },
    { description: "Positive: credit added (a redemption); negative: spent or taken back" },
  ),
  redemption_id: Type.Union([Type.String(), Type.Null()]),
  order_id: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  created_at: Type.String({ format: "date-time" }),
});
const StoreCreditResponse = Type.Object(
  {
    object: Type.Literal("store_credit"),
    member_id: Type.String(),
    balances: Type.Array(Type.Object({ amount: Type.Integer(), currency: Type.String() }), {
      description: "Per currency, minor units",
    }),
    entries: Type.Array(StoreCreditEntry, { description: "Newest first" }),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: "StoreCredit" },
);
const SpendBody = Type.Object(
  { amount: MoneyAmount, order_id: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false, examples: [{ amount: { amount: 1500, currency: "USD" }, order_id: "1001" }] },
);
const SpendResponse = Type.Object({
  object: Type.Literal("store_credit_spend"),
  entry: StoreCreditEntry,
  balance: Type.Object({ amount: Type.Integer(), currency: Type.String() }),
  replayed: Type.Boolean(),
});

function toCheckoutPointsJson(checkout: CheckoutPoints, replayed?: boolean): Static<typeof CheckoutPointsResponse> {
  return {
    object: "checkout_points",
    cart_id: checkout.cartId,
    member_id: checkout.memberId,
    points: checkout.points,
    discount: checkout.discount,
    status: checkout.status,
    expires_at: checkout.reservation.expiresAt,
    order_id: checkout.orderId,
    reservation_id: checkout.reservation.id,
    ...(replayed === undefined ? {} : { replayed }),
    created_at: checkout.createdAt,
    updated_at: checkout.updatedAt,
  };
}

/** Points at checkout: the platform's routes (secret key) and the shopper's (customer token). */
export function registerCheckoutRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Checkout"];
  const security = [{ secretKey: [] }];
  const actorOf = (keyId: string): Actor => ({ type: "api_key", id: keyId });
  const path = "/v1/checkouts/:cart_id/points";

  const apply = async (
    caller: { shopId: string; keyId: string },
    cartId: string,
    memberId: string,
    body: Static<typeof StorefrontApplyBody>,
  ) => {
    const result = await withTransaction(deps.database, async (trx) =>
      applyCheckoutPoints(
        trx,
        {
          shop: await getShop(trx, caller.shopId),
          cartId,
          memberId,
          points: body.points,
          cart: body.cart,
          holdSeconds: body.hold_seconds,
          actor: actorOf(caller.keyId),
        },
        deps.clock.now(),
      ),
    );
    return toCheckoutPointsJson(result, result.replayed);
  };

  routes.put(
    path,
    {
      schema: {
        tags,
        security,
        summary: "Put a member's points toward a cart (or change how many)",
        description:
          "Holds the points (a ledger reservation) and answers what they take off the cart at the shop's redemption rate, in the cart's currency. Putting the same points again keeps the hold; other points replace it. The points are spent when the order is paid (an order.paid event with `order.cart_id`, or POST …/commit) and come back when taken off or when the hold runs out. 422 `insufficient_points` when the member has fewer available.",
        params: CartParams,
        body: ApplyBody,
        response: { 200: CheckoutPointsResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      return apply(callerOf(request), request.params.cart_id, request.body.member_id, request.body);
    },
  );

  routes.get(
    path,
    {
      schema: {
        tags,
        security,
        summary: "The points on a cart and whether they are still held",
        params: CartParams,
        response: { 200: CheckoutPointsResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) =>
      toCheckoutPointsJson(
        await getCheckoutPoints(deps.database, callerOf(request).shopId, request.params.cart_id, deps.clock.now()),
      ),
  );

  routes.delete(
    path,
    {
      schema: {
        tags,
        security,
        summary: "Take the points off a cart: they are available again",
        description: "Answers the released hold; one already released or run out is answered as it is.",
        params: CartParams,
        response: { 200: CheckoutPointsResponse, ...problemResponses(401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const checkout = await withTransaction(deps.database, (trx) =>
        removeCheckoutPoints(
          trx,
          { shopId: caller.shopId, cartId: request.params.cart_id, actor: actorOf(caller.keyId) },
          deps.clock.now(),
        ),
      );
      return toCheckoutPointsJson(checkout);
    },
  );

  routes.post(
    `${path}/commit`,
    {
      schema: {
        tags,
        security,
        summary: "Spend the points on the cart's order",
        description:
          "For platforms that do not send `order.cart_id` with order.paid. The same order again answers as the first time; another order is 409. A hold that ran out is spent from the available balance (the order got the discount), 422 if the member no longer has the points.",
        params: CartParams,
        body: CommitBody,
        response: { 200: CheckoutPointsResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { checkout, replayed } = await withTransaction(deps.database, (trx) =>
        commitCheckoutPoints(
          trx,
          {
            shopId: caller.shopId,
            cartId: request.params.cart_id,
            orderId: request.body.order_id,
            actor: actorOf(caller.keyId),
          },
          deps.clock.now(),
        ),
      );
      return toCheckoutPointsJson(checkout, replayed);
    },
  );

  const storeCreditJson = async (shopId: string, memberId: string, query: { limit: number; cursor?: string }) => {
    const credit = await getStoreCredit(deps.database.db, shopId, memberId, {
      limit: query.limit + 1,
      before: decodeCursor(query.cursor),
    });
    const more = credit.entries.length > query.limit;
    const entries = credit.entries.slice(0, query.limit);
    return {
      object: "store_credit" as const,
      member_id: memberId,
      balances: credit.balances,
      entries: entries.map(toStoreCreditEntryJson),
      next_cursor: more ? encodeCursor(entries[entries.length - 1]?.id ?? "") : null,
    };
  };

  routes.get(
    "/v1/members/:id/store-credit",
    {
      schema: {
        tags,
        security,
        summary: "A member's store credit: balances per currency and the entries behind them",
        params: MemberParams,
        querystring: PageQuery,
        response: { 200: StoreCreditResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => storeCreditJson(callerOf(request).shopId, request.params.id, request.query),
  );

  routes.post(
    "/v1/members/:id/store-credit/spend",
    {
      schema: {
        tags,
        security,
        summary: "Spend a member's store credit on an order",
        description:
          "Once per order and currency: the same order again answers with the first spend (`replayed: true`); another amount for it is 409 `store_credit_conflict`. More than the balance is 422.",
        params: MemberParams,
        body: SpendBody,
        response: { 200: SpendResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      const { entry, balance, replayed } = await withTransaction(deps.database, (trx) =>
        spendStoreCredit(
          trx,
          {
            shopId: callerOf(request).shopId,
            memberId: request.params.id,
            amount: request.body.amount,
            orderId: request.body.order_id,
          },
          deps.clock.now(),
        ),
      );
      return {
        object: "store_credit_spend" as const,
        entry: toStoreCreditEntryJson(entry),
        balance: { amount: balance, currency: entry.currency },
        replayed,
      };
    },
  );

  // The shopper's own cart (publishable key + customer token): the member is the token's.
  const storefront = { config: { auth: "publishable" as const }, onRequest: authenticateCustomer(deps) };
  const storefrontSchema = {
    tags: ["Storefront"],
    security: [{ publishableKey: [] }, { secretKey: [] }] as Array<Record<string, string[]>>,
    headers: CustomerTokenHeaders,
    params: CartParams,
  };
  const mePath = "/v1/me/checkouts/:cart_id/points";
  /** A cart with another member's points is not the shopper's to see: 404, as if absent. */
  const ownCheckout = async (shopId: string, memberId: string, cartId: string) => {
    const checkout = await getCheckoutPoints(deps.database, shopId, cartId, deps.clock.now());
    if (checkout.memberId !== memberId) {
      throw new AppError("checkout_points_not_found", `No points were put on cart ${cartId}`);
    }
    return checkout;
  };

  routes.put(
    mePath,
    {
      ...storefront,
      schema: {
        ...storefrontSchema,
        summary: "The shopper puts points toward their cart",
        description: "As PUT /v1/checkouts/{cart_id}/points, for the member the customer token names.",
        body: StorefrontApplyBody,
        response: { 200: CheckoutPointsResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      return apply(callerOf(request), request.params.cart_id, customerOf(request).memberId, request.body);
    },
  );

  routes.get(
    mePath,
    {
      ...storefront,
      schema: {
        ...storefrontSchema,
        summary: "The points the shopper put on their cart",
        response: { 200: CheckoutPointsResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) =>
      toCheckoutPointsJson(
        await ownCheckout(callerOf(request).shopId, customerOf(request).memberId, request.params.cart_id),
      ),
  );

  routes.delete(
    mePath,
    {
      ...storefront,
      schema: {
        ...storefrontSchema,
        summary: "The shopper takes the points off their cart",
        response: { 200: CheckoutPointsResponse, ...problemResponses(401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await ownCheckout(caller.shopId, customerOf(request).memberId, request.params.cart_id);
      const checkout = await withTransaction(deps.database, (trx) =>
        removeCheckoutPoints(
          trx,
          { shopId: caller.shopId, cartId: request.params.cart_id, actor: actorOf(caller.keyId) },
          deps.clock.now(),
        ),
      );
      return toCheckoutPointsJson(checkout);
    },
  );

  routes.get(
    "/v1/me/store-credit",
    {
      ...storefront,
      schema: {
        tags: ["Storefront"],
        security: storefrontSchema.security,
        headers: CustomerTokenHeaders,
        summary: "The shopper's store credit",
        querystring: PageQuery,
        response: { 200: StoreCreditResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => storeCreditJson(callerOf(request).shopId, customerOf(request).memberId, request.query),
  );
}
