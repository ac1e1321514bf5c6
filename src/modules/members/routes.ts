import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, PageQuery, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import { absentBodyAsEmptyObject } from "../../platform/http/validation.js";
import { registerIdentityRoutes } from "./identity-routes.js";
import { registerMergeAndTimelineRoutes } from "./merge-routes.js";
import { toConsentJson, toConsentsJson } from "./representation.js";
import {
  AttributeDefinitionResponse,
  AttributeKeyParams,
  ClaimBody,
  ConsentRecord,
  ConsentsResponse,
  CreateMemberBody,
  DefineAttributeBody,
  ListMembersQuery,
  MemberIdParams,
  MemberResponse,
  profileFrom,
  RecordConsentsBody,
  toMemberResponse,
  UpdateMemberBody,
  UpsertMemberBody,
  UpsertParams,
} from "./schema.js";
import {
  type AttributeDefinition,
  cancelMember,
  claimMember,
  createMember,
  defineAttribute,
  deleteAttributeDefinition,
  getCurrentConsents,
  getMember,
  joinMember,
  listAttributeDefinitions,
  listConsentHistory,
  listMembers,
  recordConsents,
  updateMember,
  upsertMemberByIdentifier,
  withIdentifierRetry,
} from "./service.js";

function attributeJson(definition: AttributeDefinition) {
  return {
    object: "member_attribute" as const,
    key: definition.key,
    type: definition.type,
    label: definition.label,
    required: definition.required,
    created_at: definition.createdAt,
    updated_at: definition.updatedAt,
  };
}

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
        summary: "Create a member with identifiers, a profile and an empty points account",
        description:
          "Identifiers are normalized (emails lower-cased, phones to E.164). One that belongs to another member is 409 `identifier_taken` with that member's id in `member_id`.",
        body: CreateMemberBody,
        response: { 201: MemberResponse, ...problemResponses(400, 401, 403, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const body = request.body;
      // withIdentifierRetry: a concurrent request may take an identifier after it was checked.
      const member = await withIdentifierRetry(deps.database, (trx) =>
        createMember(
          trx,
          { shopId, status: body.status, identifiers: body.identifiers, profile: profileFrom(body) },
          deps.clock.now(),
        ),
      );
      return reply.code(201).send(toMemberResponse(member));
    },
  );

  routes.get(
    "/v1/members",
    {
      schema: {
        tags,
        security,
        summary: "List members, newest first, with filters and search",
        description:
          "Filters combine: `status`, `created_from`/`created_to`, `q` (email, phone or name prefix) and `tag` (members with that tag, in any case).",
        querystring: ListMembersQuery,
        response: { 200: Page(MemberResponse), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, status, created_from, created_to, q, tag } = request.query;
      const members = await listMembers(deps.database.db, callerOf(request).shopId, {
        limit: limit + 1,
        before: decodeCursor(cursor),
        status,
        createdFrom: created_from ? new Date(created_from).toISOString() : undefined,
        createdTo: created_to ? new Date(created_to).toISOString() : undefined,
        search: q,
        tag,
      });
      return toPage(members, limit, toMemberResponse);
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

  routes.patch(
    "/v1/members/:id",
    {
      schema: {
        tags,
        security,
        summary: "Update a member's profile, add identifiers, suspend or reinstate",
        description:
          "Absent fields stay as they are; null clears one. Emits member.updated, and profile.completed once.",
        params: MemberIdParams,
        body: UpdateMemberBody,
        response: { 200: MemberResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const body = request.body;
      const member = await withIdentifierRetry(deps.database, (trx) =>
        updateMember(
          trx,
          {
            shopId,
            memberId: request.params.id,
            status: body.status,
            identifiers: body.identifiers,
            profile: profileFrom(body),
          },
          deps.clock.now(),
        ),
      );
      return toMemberResponse(member);
    },
  );

  routes.delete(
    "/v1/members/:id",
    {
      schema: {
        tags,
        security,
        summary: "Cancel a membership",
        description:
          "The member becomes `cancelled` and keeps its history; cancelling twice changes nothing. Erasing personal data is a separate step.",
        params: MemberIdParams,
        response: { 200: MemberResponse, ...problemResponses(401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const member = await withTransaction(deps.database, (trx) =>
        cancelMember(trx, shopId, request.params.id, deps.clock.now()),
      );
      return toMemberResponse(member);
    },
  );

  routes.put(
    "/v1/members/by/:kind/:value",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Find or create the member an identifier belongs to (upsert)",
        description:
          "201 with a new member when no one holds the identifier, else 200 with the existing member updated by the body. Other identifiers in the body are linked; one that belongs to another member is 409 `identifier_taken` (members are never merged silently).",
        params: UpsertParams,
        body: UpsertMemberBody,
        response: {
          200: MemberResponse,
          201: MemberResponse,
          ...problemResponses(400, 401, 403, 409, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const body = request.body;
      const result = await upsertMemberByIdentifier(
        deps.database,
        {
          shopId,
          kind: request.params.kind,
          value: request.params.value,
          identifiers: body.identifiers,
          profile: profileFrom(body),
          status: body.status,
        },
        deps.clock.now(),
      );
      return reply.code(result.created ? 201 : 200).send(toMemberResponse(result.member));
    },
  );

  routes.post(
    "/v1/members/:id/join",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "A guest joins the program (opt-in enrollment)",
        params: MemberIdParams,
        // Without a body schema any JSON was accepted: the command takes no fields, so say so.
        body: Type.Object({}, { additionalProperties: false }),
        response: { 200: MemberResponse, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const member = await withTransaction(deps.database, (trx) =>
        joinMember(trx, shopId, request.params.id, deps.clock.now()),
      );
      return toMemberResponse(member);
    },
  );

  routes.post(
    "/v1/members/:id/claim",
    {
      schema: {
        tags,
        security,
        summary: "A guest claims their membership with a verified email or phone",
        description: "Marks the identifier verified (adding it if new) and makes the guest an active member.",
        params: MemberIdParams,
        body: ClaimBody,
        response: { 200: MemberResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const member = await withIdentifierRetry(deps.database, (trx) =>
        claimMember(
          trx,
          { shopId, memberId: request.params.id, kind: request.body.kind, value: request.body.value },
          deps.clock.now(),
        ),
      );
      return toMemberResponse(member);
    },
  );

  routes.get(
    "/v1/members/:id/consents",
    {
      schema: {
        tags,
        security,
        summary: "A member's current consent for every purpose",
        description: "A purpose is granted only when its latest record grants it: nothing is granted by default.",
        params: MemberIdParams,
        response: { 200: ConsentsResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const purposes = await getCurrentConsents(deps.database.db, shopId, request.params.id);
      return toConsentsJson(request.params.id, purposes);
    },
  );

  routes.get(
    "/v1/members/:id/consents/history",
    {
      schema: {
        tags,
        security,
        summary: "Every consent record of a member, newest first",
        params: MemberIdParams,
        querystring: PageQuery,
        response: { 200: Page(ConsentRecord), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const history = await listConsentHistory(deps.database.db, callerOf(request).shopId, request.params.id, {
        limit: limit + 1,
        after: decodeCursor(cursor),
      });
      return toPage(history, limit, toConsentJson);
    },
  );

  routes.post(
    "/v1/members/:id/consents",
    {
      schema: {
        tags,
        security,
        summary: "Record consent given or withdrawn",
        description:
          "Each change is a new record (source, channel, wording version, and the shopper's IP address and user agent when given); nothing is overwritten. Emits consent.updated.",
        params: MemberIdParams,
        body: RecordConsentsBody,
        response: { 201: ConsentsResponse, ...problemResponses(400, 401, 403, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const body = request.body;
      const purposes = await withTransaction(deps.database, async (trx) => {
        await recordConsents(
          trx,
          shopId,
          request.params.id,
          body.changes.map((change) => ({
            purpose: change.purpose,
            granted: change.granted,
            channel: change.channel,
            source: change.source,
            wordingVersion: change.wording_version,
            ipAddress: body.ip_address,
            userAgent: body.user_agent,
          })),
          deps.clock.now(),
        );
        return getCurrentConsents(trx, shopId, request.params.id);
      });
      return reply.code(201).send(toConsentsJson(request.params.id, purposes));
    },
  );

  routes.get(
    "/v1/member-attributes",
    {
      schema: {
        tags,
        security,
        summary: "The shop's custom profile attributes",
        response: {
          200: Type.Object({ object: Type.Literal("list"), data: Type.Array(AttributeDefinitionResponse) }),
          ...problemResponses(401, 403, 429),
        },
      },
    },
    async (request) => ({
      object: "list" as const,
      data: (await listAttributeDefinitions(deps.database.db, callerOf(request).shopId)).map(attributeJson),
    }),
  );

  routes.put(
    "/v1/member-attributes/:key",
    {
      schema: {
        tags,
        security,
        summary: "Define or relabel a custom profile attribute",
        description:
          "The type cannot change once defined. A required attribute must be set for a profile to be complete.",
        params: AttributeKeyParams,
        body: DefineAttributeBody,
        response: { 200: AttributeDefinitionResponse, ...problemResponses(400, 401, 403, 422, 429) },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const definition = await withTransaction(deps.database, (trx) =>
        defineAttribute(
          trx,
          {
            shopId,
            key: request.params.key,
            type: request.body.type,
            label: request.body.label,
            required: request.body.required ?? false,
          },
          deps.clock.now(),
        ),
      );
      return attributeJson(definition);
    },
  );

  routes.delete(
    "/v1/member-attributes/:key",
    {
      schema: {
        tags,
        security,
        summary: "Remove a custom attribute definition",
        description: "Members keep the values they have; they can no longer be set.",
        params: AttributeKeyParams,
        response: { 204: Type.Null({ description: "Removed" }), ...problemResponses(401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      await withTransaction(deps.database, (trx) => deleteAttributeDefinition(trx, shopId, request.params.key));
      return reply.code(204).send(null);
    },
  );

  registerIdentityRoutes(app, deps);
  registerMergeAndTimelineRoutes(app, deps);
}
