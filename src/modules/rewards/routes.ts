import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import {
  findDiscount,
  queueShopifyDiscount,
  sendShopifyDiscount,
  shopifySettingsOf,
  toDiscountJson,
  withdrawShopifyDiscount,
} from "../../integrations/shopify/discount-sync.js";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, PageQuery, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import { type Actor, getPointsSummary } from "../ledger/index.js";
import { authenticateCustomer, CustomerTokenHeaders, customerOf } from "../members/index.js";
import { getShop } from "../shops/index.js";
import {
  CancelBody,
  CodeResponse,
  ConsumeCodeBody,
  ListRewardsQuery,
  RedeemBody,
  RedemptionResponse,
  ReleaseCodeBody,
  RewardBody,
  RewardParams,
  RewardResponse,
  StorefrontRewardResponse,
  toCodeJson,
  toRedemptionJson,
  toRewardJson,
  ValidateCodeBody,
} from "./schema.js";
import {
  cancelRedemption,
  consumeCode,
  createReward,
  getRedemption,
  getReward,
  listRedemptions,
  listRewards,
  redeemReward,
  releaseCode,
  rewardsForMember,
  setRewardStatus,
  updateReward,
  validateCode,
} from "./service.js";

const MemberParams = Type.Object({ id: Type.String({ maxLength: 100 }) }, { additionalProperties: false });

export function registerRewardRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Rewards"];
  const security = [{ secretKey: [] }];
  const actorOf = (keyId: string): Actor => ({ type: "api_key", id: keyId });
  const shopify = shopifySettingsOf(deps.config);

  /**
   * Redeems in one transaction, queueing the code for Shopify there when the shop sends codes to
   * it; the discount is then created before answering, so the code works at checkout at once. A
   * failure to reach Shopify does not undo the redemption: the sweep sends it again.
   */
  async function redeem(
    caller: { shopId: string; keyId: string },
    memberId: string,
    body: { reward_id: string; points?: number | undefined },
  ) {
    const now = deps.clock.now();
    const { row, queued } = await withTransaction(deps.database, async (trx) => {
      const row = await redeemReward(
        trx,
        {
          shop: await getShop(trx, caller.shopId),
          memberId,
          rewardId: body.reward_id,
          points: body.points,
          actor: actorOf(caller.keyId),
        },
        now,
      );
      return { row, queued: await queueShopifyDiscount(trx, row, now) };
    });
    const discount = queued
      ? await sendShopifyDiscount(deps.database, shopify, row.shop_id, row.id, deps.clock.now())
      : undefined;
    return { ...toRedemptionJson(row), shopify_discount: toDiscountJson(discount) };
  }

  routes.post(
    "/v1/rewards",
    {
      schema: {
        tags,
        security,
        summary: "Add a reward to the catalog",
        description:
          "Types: amount_off, percent_off, free_shipping, free_product, store_credit, custom. Amounts are per currency; a cart in a currency the reward does not name gets nothing. See docs/rewards.md.",
        body: RewardBody,
        response: { 201: RewardResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const reward = await withTransaction(deps.database, async (trx) =>
        createReward(trx, await getShop(trx, shopId), request.body, deps.clock.now()),
      );
      return reply.code(201).send(toRewardJson(reward));
    },
  );

  routes.get(
    "/v1/rewards",
    {
      schema: {
        tags,
        security,
        summary: "List the catalog, newest first",
        description: "Archived rewards only with `status=archived`.",
        querystring: ListRewardsQuery,
        response: { 200: Page(RewardResponse), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, status } = request.query;
      const rewards = await listRewards(deps.database.db, callerOf(request).shopId, {
        limit: limit + 1,
        before: decodeCursor(cursor),
        status,
      });
      return toPage(rewards, limit, toRewardJson);
    },
  );

  routes.get(
    "/v1/rewards/:id",
    {
      schema: {
        tags,
        security,
        summary: "Get a reward",
        params: RewardParams,
        response: { 200: RewardResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toRewardJson(await getReward(deps.database.db, callerOf(request).shopId, request.params.id)),
  );

  routes.put(
    "/v1/rewards/:id",
    {
      schema: {
        tags,
        security,
        summary: "Replace a reward's definition (a new version)",
        description:
          "Codes already issued keep what they were issued with. `stock`, when given, is the new number left; absent keeps the current one.",
        params: RewardParams,
        body: RewardBody,
        response: { 200: RewardResponse, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const reward = await withTransaction(deps.database, async (trx) =>
        updateReward(trx, await getShop(trx, shopId), request.params.id, request.body, deps.clock.now()),
      );
      return toRewardJson(reward);
    },
  );

  for (const [action, status] of [
    ["enable", "active"],
    ["disable", "disabled"],
  ] as const) {
    routes.post(
      `/v1/rewards/:id/${action}`,
      {
        schema: {
          tags,
          security,
          summary:
            action === "enable"
              ? "Let members redeem a reward"
              : "Stop redemptions of a reward (codes issued stay valid)",
          params: RewardParams,
          response: { 200: RewardResponse, ...problemResponses(401, 403, 404, 409, 429) },
        },
      },
      async (request) =>
        toRewardJson(
          await withTransaction(deps.database, (trx) =>
            setRewardStatus(trx, callerOf(request).shopId, request.params.id, status, deps.clock.now()),
          ),
        ),
    );
  }

  routes.delete(
    "/v1/rewards/:id",
    {
      schema: {
        tags,
        security,
        summary: "Archive a reward: it leaves the catalog; codes issued stay valid",
        params: RewardParams,
        response: { 200: RewardResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) =>
      toRewardJson(
        await withTransaction(deps.database, (trx) =>
          setRewardStatus(trx, callerOf(request).shopId, request.params.id, "archived", deps.clock.now()),
        ),
      ),
  );

  routes.post(
    "/v1/members/:id/redemptions",
    {
      schema: {
        tags,
        security,
        summary: "Redeem a reward: spend the member's points and issue a code (or store credit)",
        description:
          "One transaction: eligibility, limits, one unit of stock, the points (422 `insufficient_points`), then the code. Out of stock or a limit reached is 409; any refusal writes nothing. Send an Idempotency-Key: a retry answers with the first redemption.",
        params: MemberParams,
        body: RedeemBody,
        response: { 201: RedemptionResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const redemption = await redeem(caller, request.params.id, request.body);
      return reply.code(201).send(redemption);
    },
  );

  routes.get(
    "/v1/members/:id/redemptions",
    {
      schema: {
        tags,
        security,
        summary: "A member's redemptions, newest first",
        params: MemberParams,
        querystring: PageQuery,
        response: { 200: Page(RedemptionResponse), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const rows = await listRedemptions(deps.database.db, callerOf(request).shopId, request.params.id, {
        limit: limit + 1,
        before: decodeCursor(cursor),
      });
      return toPage(rows, limit, toRedemptionJson);
    },
  );

  routes.get(
    "/v1/redemptions/:id",
    {
      schema: {
        tags,
        security,
        summary: "Get a redemption",
        params: RewardParams,
        response: { 200: RedemptionResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => {
      const row = await getRedemption(deps.database.db, callerOf(request).shopId, request.params.id);
      return {
        ...toRedemptionJson(row),
        shopify_discount: toDiscountJson(await findDiscount(deps.database.db, row.shop_id, row.id)),
      };
    },
  );

  routes.post(
    "/v1/redemptions/:id/cancel",
    {
      schema: {
        tags,
        security,
        summary: "Cancel a redemption whose code was not used: the points come back",
        description:
          "The ledger reverses the spend (the points return to the lots they came from), the stock unit returns, and `redemption.cancelled` is sent. A used code, or store credit already spent, is 409.",
        params: RewardParams,
        body: CancelBody,
        response: { 200: RedemptionResponse, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const now = deps.clock.now();
      const { row, withdrawn } = await withTransaction(deps.database, async (trx) => {
        const row = await cancelRedemption(
          trx,
          {
            shopId: caller.shopId,
            redemptionId: request.params.id,
            reason: request.body.reason,
            actor: actorOf(caller.keyId),
          },
          now,
        );
        return { row, withdrawn: await withdrawShopifyDiscount(trx, row.shop_id, row.id, now) };
      });
      // The Shopify discount is deleted after the cancellation commits (the sweep retries a failure).
      const discount = withdrawn
        ? await sendShopifyDiscount(deps.database, shopify, row.shop_id, row.id, deps.clock.now())
        : await findDiscount(deps.database.db, row.shop_id, row.id);
      return { ...toRedemptionJson(row), shopify_discount: toDiscountJson(discount) };
    },
  );

  const checkout = ["Checkout"];
  routes.post(
    "/v1/codes/validate",
    {
      schema: {
        tags: checkout,
        security,
        summary: "What a code is worth on a cart, or why it does not apply",
        description: "Reads only. `applies: false` comes with a `reason`; an unknown code is 404 `code_not_found`.",
        body: ValidateCodeBody,
        response: { 200: CodeResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { redemption, decision } = await validateCode(
        deps.database.db,
        {
          shopId: callerOf(request).shopId,
          code: request.body.code,
          cart: request.body.cart,
          memberId: request.body.member_id,
        },
        deps.clock.now(),
      );
      return toCodeJson(redemption, decision);
    },
  );

  routes.post(
    "/v1/codes/consume",
    {
      schema: {
        tags: checkout,
        security,
        summary: "Use a code on an order, once",
        description:
          "Idempotent by order id: the same order again answers as the first time (`replayed: true`); another order is 409 `code_already_used`. A code that does not apply to the cart is 422 with the reason. Sends `code.consumed`.",
        body: ConsumeCodeBody,
        response: { 200: CodeResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      const result = await withTransaction(deps.database, (trx) =>
        consumeCode(
          trx,
          {
            shopId: callerOf(request).shopId,
            code: request.body.code,
            orderId: request.body.order_id,
            cart: request.body.cart,
            memberId: request.body.member_id,
          },
          deps.clock.now(),
        ),
      );
      return toCodeJson(result.redemption, result.decision, result.replayed);
    },
  );

  routes.post(
    "/v1/codes/release",
    {
      schema: {
        tags: checkout,
        security,
        summary: "Give back a code used on an order that did not go through: usable again",
        description: "Releasing a code that is not used answers with it as it is; one used on another order is 409.",
        body: ReleaseCodeBody,
        response: { 200: RedemptionResponse, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const row = await withTransaction(deps.database, (trx) =>
        releaseCode(
          trx,
          { shopId: callerOf(request).shopId, code: request.body.code, orderId: request.body.order_id },
          deps.clock.now(),
        ),
      );
      return toRedemptionJson(row);
    },
  );

  // The storefront: the shopper's own catalog and redemptions (publishable key + customer token).
  const storefront = {
    config: { auth: "publishable" as const },
    onRequest: authenticateCustomer(deps),
  };
  const storefrontSchema = {
    tags: ["Storefront"],
    security: [{ publishableKey: [] }, { secretKey: [] }] as Array<Record<string, string[]>>,
    headers: CustomerTokenHeaders,
  };

  routes.get(
    "/v1/me/rewards",
    {
      ...storefront,
      schema: {
        ...storefrontSchema,
        summary: "The rewards the shopper can redeem now, and the points still needed for the others",
        response: {
          200: Type.Object({ data: Type.Array(StorefrontRewardResponse) }),
          ...problemResponses(401, 403, 429),
        },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const { memberId } = customerOf(request);
      const now = deps.clock.now();
      const summary = await getPointsSummary(deps.database, shopId, memberId, now);
      const rewards = await rewardsForMember(deps.database.db, shopId, memberId, summary.available, now);
      return {
        data: rewards.map((item) => ({
          ...toRewardJson(item.reward),
          affordable: item.affordable,
          eligible: item.eligible,
          ineligible_reason: item.ineligibleReason,
          points_needed: item.pointsNeeded,
        })),
      };
    },
  );

  routes.post(
    "/v1/me/redemptions",
    {
      ...storefront,
      schema: {
        ...storefrontSchema,
        summary: "The shopper redeems a reward",
        description: "As POST /v1/members/{id}/redemptions, for the member the customer token names.",
        body: RedeemBody,
        response: { 201: RedemptionResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      // The shopper acted through the shop's publishable key; the redemption names the member.
      const redemption = await redeem(callerOf(request), customerOf(request).memberId, request.body);
      return reply.code(201).send(redemption);
    },
  );

  routes.get(
    "/v1/me/redemptions",
    {
      ...storefront,
      schema: {
        ...storefrontSchema,
        summary: "The shopper's redemptions and codes, newest first",
        querystring: PageQuery,
        response: { 200: Page(RedemptionResponse), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const rows = await listRedemptions(deps.database.db, callerOf(request).shopId, customerOf(request).memberId, {
        limit: limit + 1,
        before: decodeCursor(cursor),
      });
      return toPage(rows, limit, toRedemptionJson);
    },
  );
}
