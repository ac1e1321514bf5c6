import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { problemResponses } from "../../platform/http/problem.js";
import {
  customEventTypePattern,
  defineEventType,
  deleteEventType,
  type EventType,
  listEventTypes,
  maxEventTypeLength,
} from "./event-types.js";

const Timestamp = Type.String({ format: "date-time" });

const BuiltInEventTypeResponse = Type.Object({
  type: Type.String({ examples: ["order.paid"] }),
  built_in: Type.Literal(true),
  name: Type.String(),
  description: Type.String(),
});

const CustomEventTypeResponse = Type.Object(
  {
    type: Type.String({ examples: ["workshop.attended"] }),
    built_in: Type.Literal(false),
    name: Type.String({ examples: ["Workshop attended"] }),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "CustomEventType" },
);

const EventTypeListResponse = Type.Object({
  object: Type.Literal("list"),
  data: Type.Array(Type.Union([BuiltInEventTypeResponse, CustomEventTypeResponse]), {
    description: "The built-in types, then the shop's custom types by type",
  }),
});

const EventTypeParams = Type.Object({
  type: Type.String({
    minLength: 1,
    maxLength: maxEventTypeLength,
    pattern: customEventTypePattern.source,
    description: "Lower-case words of letters, digits and _ joined by dots; not a built-in type",
    examples: ["workshop.attended"],
  }),
});

const DefineEventTypeBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: "What people call it" }),
    description: Type.Optional(
      Type.Union([Type.String({ maxLength: 500 }), Type.Null()], {
        description: "What the event means; absent or null: none (a PUT replaces the whole definition)",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ name: "Workshop attended", description: "The customer attended an in-store workshop." }],
  },
);

function customJson(eventType: EventType) {
  return {
    type: eventType.type,
    built_in: false as const,
    name: eventType.name,
    description: eventType.description,
    created_at: eventType.createdAt ?? "",
    updated_at: eventType.updatedAt ?? "",
  };
}

function eventTypeJson(eventType: EventType) {
  if (!eventType.builtIn) return customJson(eventType);
  return {
    type: eventType.type,
    built_in: true as const,
    name: eventType.name,
    description: eventType.description ?? "",
  };
}

export function registerEventTypeRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Event types"];
  const security = [{ secretKey: [] }];

  routes.get(
    "/v1/event-types",
    {
      schema: {
        tags,
        security,
        summary: "The event types the shop can send: the built-in ones and its own",
        description:
          "Built-in types (`built_in: true`) come first, in a fixed order; then the shop's custom types, by type. Not paginated: a shop defines a handful.",
        response: { 200: EventTypeListResponse, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) => ({
      object: "list" as const,
      data: (await listEventTypes(deps.database.db, callerOf(request).shopId)).map(eventTypeJson),
    }),
  );

  routes.put(
    "/v1/event-types/:type",
    {
      schema: {
        tags,
        security,
        summary: "Define a custom event type, or rename and redescribe one",
        description:
          "201 when the type is new, 200 when it existed (its name and description are replaced). A built-in type's name is 400 `validation_failed` pointing at `/params/type`.",
        params: EventTypeParams,
        body: DefineEventTypeBody,
        response: {
          200: CustomEventTypeResponse,
          201: CustomEventTypeResponse,
          ...problemResponses(400, 401, 403, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        defineEventType(
          trx,
          {
            shopId,
            type: request.params.type,
            name: request.body.name,
            description: request.body.description,
          },
          deps.clock.now(),
        ),
      );
      return reply.code(result.created ? 201 : 200).send(customJson(result.eventType));
    },
  );

  routes.delete(
    "/v1/event-types/:type",
    {
      schema: {
        tags,
        security,
        summary: "Remove a custom event type",
        description:
          "Events already recorded with the type keep it. 404 `event_type_not_found` when the shop has no custom type by that name; 400 for a built-in type.",
        params: EventTypeParams,
        response: { 204: Type.Null({ description: "Removed" }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      await withTransaction(deps.database, (trx) => deleteEventType(trx, shopId, request.params.type));
      return reply.code(204).send(null);
    },
  );
}
