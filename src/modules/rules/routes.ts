import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import { absentBodyAsEmptyObject } from "../../platform/http/validation.js";
import { getShop } from "../shops/index.js";
import {
  CreateRuleBody,
  ListRulesQuery,
  RuleParams,
  RuleResponse,
  RuleVersionResponse,
  toRuleJson,
  UpdateRuleBody,
} from "./schema.js";
import { createRule, getRule, listRules, listRuleVersions, setRuleStatus, updateRule } from "./service.js";
import type { RuleStatus } from "./tables.js";

export function registerRuleRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Earning rules"];
  const security = [{ secretKey: [] }];

  routes.post(
    "/v1/rules",
    {
      schema: {
        tags,
        security,
        summary: "Create an earning rule",
        description:
          "The rule language is described in docs/earning-rules.md. Every problem is reported with a JSON pointer (`/body/conditions/all/0/op`). Amounts must be in the shop currency. A rule starts active unless `enabled` is false.",
        body: CreateRuleBody,
        response: { 201: RuleResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const { enabled, ...draft } = request.body;
      const rule = await withTransaction(deps.database, async (trx) => {
        const shop = await getShop(trx, shopId);
        const status: RuleStatus = enabled === false ? "disabled" : "active";
        return createRule(trx, { shopId, currency: shop.baseCurrency, draft, status }, deps.clock.now());
      });
      return reply.code(201).send(toRuleJson(rule));
    },
  );

  routes.get(
    "/v1/rules",
    {
      schema: {
        tags,
        security,
        summary: "List earning rules, newest first",
        description: "Archived rules are listed only with `status=archived`.",
        querystring: ListRulesQuery,
        response: { 200: Page(RuleResponse), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, status, event_type } = request.query;
      const rules = await listRules(deps.database.db, callerOf(request).shopId, {
        limit: limit + 1,
        before: decodeCursor(cursor),
        status,
        eventType: event_type,
      });
      return toPage(rules, limit, toRuleJson);
    },
  );

  routes.get(
    "/v1/rules/:id",
    {
      schema: {
        tags,
        security,
        summary: "Get an earning rule (its current version)",
        params: RuleParams,
        response: { 200: RuleResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toRuleJson(await getRule(deps.database.db, callerOf(request).shopId, request.params.id)),
  );

  routes.get(
    "/v1/rules/:id/versions",
    {
      schema: {
        tags,
        security,
        summary: "Every version of an earning rule, newest first",
        description: "Explanations name the version that decided an event; this shows what it said.",
        params: RuleParams,
        response: {
          200: Type.Object({ data: Type.Array(RuleVersionResponse) }),
          ...problemResponses(401, 403, 404, 429),
        },
      },
    },
    async (request) => {
      const versions = await listRuleVersions(deps.database.db, callerOf(request).shopId, request.params.id);
      return {
        data: versions.map((version) => {
          const { createdAt, eventType, ...rest } = version;
          return {
            object: "earning_rule_version" as const,
            rule_id: request.params.id,
            ...rest,
            event_type: eventType,
            conditions: rest.conditions as Record<string, unknown> | null,
            reward: rest.reward as unknown as Record<string, unknown>,
            multipliers: rest.multipliers as unknown as Record<string, unknown>[],
            limits: rest.limits as unknown as Record<string, unknown>[],
            created_at: createdAt,
          };
        }),
      };
    },
  );

  routes.patch(
    "/v1/rules/:id",
    {
      schema: {
        tags,
        security,
        summary: "Change an earning rule: saves a new version",
        description:
          "Fields given replace the current ones (`conditions: null` removes the conditions); the result is validated as a whole. Events already evaluated keep the version that decided them.",
        params: RuleParams,
        body: UpdateRuleBody,
        response: { 200: RuleResponse, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const rule = await withTransaction(deps.database, async (trx) => {
        const shop = await getShop(trx, shopId);
        return updateRule(
          trx,
          { shopId, ruleId: request.params.id, currency: shop.baseCurrency, changes: request.body },
          deps.clock.now(),
        );
      });
      return toRuleJson(rule);
    },
  );

  const statusRoutes: Array<{ path: string; status: RuleStatus; summary: string }> = [
    { path: "/v1/rules/:id/enable", status: "active", summary: "Enable an earning rule" },
    {
      path: "/v1/rules/:id/disable",
      status: "disabled",
      summary: "Disable an earning rule (it stops awarding points)",
    },
  ];
  for (const { path, status, summary } of statusRoutes) {
    routes.post(
      path,
      {
        preValidation: absentBodyAsEmptyObject,
        schema: {
          tags,
          security,
          summary,
          description: "A status change is a new version; asking for the status a rule already has changes nothing.",
          params: RuleParams,
          body: Type.Object({}, { additionalProperties: false }),
          response: { 200: RuleResponse, ...problemResponses(400, 401, 403, 404, 409, 429) },
        },
      },
      async (request) => {
        const { shopId } = callerOf(request);
        const rule = await withTransaction(deps.database, (trx) =>
          setRuleStatus(trx, { shopId, ruleId: request.params.id, status }, deps.clock.now()),
        );
        return toRuleJson(rule);
      },
    );
  }

  routes.delete(
    "/v1/rules/:id",
    {
      schema: {
        tags,
        security,
        summary: "Archive an earning rule",
        description:
          "The rule stops awarding points and leaves the default list; it stays readable (and in explanations) with `status=archived`. Archiving cannot be undone.",
        params: RuleParams,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      await withTransaction(deps.database, (trx) =>
        setRuleStatus(trx, { shopId, ruleId: request.params.id, status: "archived" }, deps.clock.now()),
      );
      return reply.code(204).send(null);
    },
  );
}
