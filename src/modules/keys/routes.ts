import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import {
  ApiKeyResponse,
  CreateApiKeyBody,
  CreatedApiKeyResponse,
  KeyIdParams,
  ListApiKeysQuery,
  toApiKeyResponse,
} from "./schema.js";
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from "./service.js";

export function registerKeyRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["API keys"];
  const security = [{ secretKey: [] }];

  routes.get(
    "/v1/keys",
    {
      schema: {
        tags,
        security,
        summary: "List the shop's API keys, newest first",
        querystring: ListApiKeysQuery,
        response: { 200: Page(ApiKeyResponse), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, include_revoked } = request.query;
      const keys = await listApiKeys(deps.database.db, callerOf(request).shopId, {
        limit: limit + 1,
        after: decodeCursor(cursor),
        includeRevoked: include_revoked,
      });
      return toPage(keys, limit, toApiKeyResponse);
    },
  );

  routes.post(
    "/v1/keys",
    {
      schema: {
        tags,
        security,
        summary: "Create an API key; its token is returned once",
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKeyResponse, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const created = await withTransaction(deps.database, (trx) =>
        createApiKey(trx, { shopId, kind: request.body.kind, name: request.body.name }, deps.clock.now()),
      );
      return reply.code(201).send({ ...toApiKeyResponse(created.key), token: created.token });
    },
  );

  routes.get(
    "/v1/keys/:id",
    {
      schema: {
        tags,
        security,
        summary: "Get one API key (without its token)",
        params: KeyIdParams,
        response: { 200: ApiKeyResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toApiKeyResponse(await getApiKey(deps.database.db, callerOf(request).shopId, request.params.id)),
  );

  routes.post(
    "/v1/keys/:id/revoke",
    {
      schema: {
        tags,
        security,
        summary: "Revoke an API key at once; requests with it are refused from now on",
        description:
          "Revoking a revoked key changes nothing. The last active secret key cannot be revoked through the API.",
        params: KeyIdParams,
        response: { 200: ApiKeyResponse, ...problemResponses(401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const key = await withTransaction(deps.database, (trx) =>
        revokeApiKey(trx, { shopId, keyId: request.params.id, keepLastSecret: true }, deps.clock.now()),
      );
      return toApiKeyResponse(key);
    },
  );
}
