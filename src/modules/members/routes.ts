import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { problemResponses } from "../../platform/http/problem.js";
import { absentBodyAsEmptyObject } from "../../platform/http/validation.js";
import { CreateMemberBody, MemberIdParams, MemberResponse, toMemberResponse } from "./schema.js";
import { createMember, getMember } from "./service.js";

export function registerMemberRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Members"];
  const security = [{ secretKey: [] }];

  routes.post(
    "/v1/members",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Create a member with an empty points account",
        body: CreateMemberBody,
        response: { 201: MemberResponse, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const member = await withTransaction(deps.database, (trx) => createMember(trx, { shopId }, deps.clock.now()));
      return reply.code(201).send(toMemberResponse(member));
    },
  );

  routes.get(
    "/v1/members/:id",
    {
      schema: {
        tags,
        security,
        summary: "Get a member",
        params: MemberIdParams,
        response: { 200: MemberResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toMemberResponse(await getMember(deps.database.db, callerOf(request).shopId, request.params.id)),
  );
}
