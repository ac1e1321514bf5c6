import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { problemResponses } from "../../platform/http/problem.js";
import {
  CurrencyParams,
  ExchangeRateListResponse,
  ExchangeRateResponse,
  SetExchangeRateBody,
  toExchangeRateResponse,
} from "./schema.js";
import { deleteExchangeRate, getExchangeRate, listExchangeRates, setExchangeRate } from "./service.js";

export function registerExchangeRateRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Exchange rates"];
  const security = [{ secretKey: [] }];

  routes.get(
    "/v1/exchange-rates",
    {
      schema: {
        tags,
        security,
        summary: "List the shop's manual exchange rates, by currency code",
        description:
          "Every rate the shop has set, in one response: a shop keeps at most a few hundred, so this list is not paginated. `base_currency` is the currency each rate converts into.",
        response: { 200: ExchangeRateListResponse, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) => {
      const list = await listExchangeRates(deps.database.db, callerOf(request).shopId);
      return {
        object: "list" as const,
        base_currency: list.baseCurrency,
        data: list.rates.map(toExchangeRateResponse),
      };
    },
  );

  routes.get(
    "/v1/exchange-rates/:currency",
    {
      schema: {
        tags,
        security,
        summary: "Get the shop's exchange rate for a currency",
        description: "404 `exchange_rate_not_found` when the shop has set no rate for the currency.",
        params: CurrencyParams,
        response: { 200: ExchangeRateResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) =>
      toExchangeRateResponse(
        await getExchangeRate(deps.database.db, callerOf(request).shopId, request.params.currency),
      ),
  );

  routes.put(
    "/v1/exchange-rates/:currency",
    {
      schema: {
        tags,
        security,
        summary: "Set the exchange rate for a currency (create or replace)",
        description:
          'One whole unit of the currency is worth `rate` whole units of the shop currency: a EUR shop sets JPY to "0.0061" when ¥1 is worth €0.0061. 201 when the shop had no rate for the currency, else 200. Emits `exchange_rate.updated`, except when the rate is the one already stored (200, nothing changes). The shop currency itself takes no rate (400).',
        params: CurrencyParams,
        body: SetExchangeRateBody,
        response: {
          200: ExchangeRateResponse,
          201: ExchangeRateResponse,
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        setExchangeRate(trx, { shopId, currency: request.params.currency, rate: request.body.rate }, deps.clock.now()),
      );
      return reply.code(result.created ? 201 : 200).send(toExchangeRateResponse(result.exchangeRate));
    },
  );

  routes.delete(
    "/v1/exchange-rates/:currency",
    {
      schema: {
        tags,
        security,
        summary: "Remove the exchange rate for a currency",
        description:
          "Emits `exchange_rate.deleted`. Amounts in the currency then have no value in the shop currency until a rate is set again. 404 when there is no rate to remove.",
        params: CurrencyParams,
        response: { 204: Type.Null({ description: "Removed" }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      await withTransaction(deps.database, (trx) =>
        deleteExchangeRate(trx, shopId, request.params.currency, deps.clock.now()),
      );
      return reply.code(204).send(null);
    },
  );
}
