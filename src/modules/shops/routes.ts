import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { problemResponses } from "../../platform/http/problem.js";
import { ShopResponse, toShopResponse, UpdateShopBody } from "./schema.js";
import { getShop, updateShop } from "./service.js";

export function registerShopRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();

  routes.get(
    "/v1/shop",
    {
      schema: {
        tags: ["Shop"],
        summary: "Get the shop this key belongs to",
        security: [{ secretKey: [] }],
        response: { 200: ShopResponse, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) => toShopResponse(await getShop(deps.database.db, callerOf(request).shopId)),
  );

  routes.patch(
    "/v1/shop",
    {
      schema: {
        tags: ["Shop"],
        summary:
          "Change the shop's settings: name, currency, time zone, locale, redemption rate, enrollment, country, negative balances",
        security: [{ secretKey: [] }],
        body: UpdateShopBody,
        response: { 200: ShopResponse, ...problemResponses(400, 401, 403, 409, 422, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const shop = await withTransaction(deps.database, (trx) =>
        updateShop(
          trx,
          shopId,
          {
            name: request.body.name,
            baseCurrency: request.body.base_currency,
            timezone: request.body.timezone,
            defaultLocale: request.body.default_locale,
            redemptionRate: request.body.redemption_rate,
            enrollmentMode: request.body.enrollment_mode,
            defaultCountry: request.body.default_country,
            allowNegativeBalance: request.body.allow_negative_balance,
            redeemedPointsOnRefund: request.body.redeemed_points_on_refund,
          },
          deps.clock.now(),
        ),
      );
      return toShopResponse(shop);
    },
  );
}
