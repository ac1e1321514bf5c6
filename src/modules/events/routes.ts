import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { type Static, Type } from "typebox";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, toPage } from "../../platform/http/pagination.js";
import { ProblemSchema, problemResponses, toProblemBody } from "../../platform/http/problem.js";
import type { Actor } from "../ledger/index.js";
import { DraftRule } from "../rules/schema.js";
import { getShop } from "../shops/index.js";
import { previewRules } from "./preview.js";
import { getEvent, listEvents } from "./queries.js";
import { toEventJson, toEventSummaryJson, withSentences } from "./representation.js";
import {
  BatchBody,
  EventBody,
  EventParams,
  EventResponse,
  EventSummary,
  ListEventsQuery,
  maxBatchEvents,
} from "./schema.js";
import { ingestBatch, ingestEvent } from "./service.js";

const PreviewBody = Type.Object(
  {
    rules: Type.Optional(
      Type.Array(DraftRule, {
        maxItems: 50,
        description: "Draft rules to try; absent: the shop's active rules for the event type",
      }),
    ),
    event: EventBody,
    member_id: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "Evaluate as this member: their tags, birthday, first order and what limits they have used",
      }),
    ),
  },
  { additionalProperties: false },
);

const batchBodyLimitBytes = 16 * 1024 * 1024;

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Events"];
  const security = [{ secretKey: [] }];
  const actorOf = (keyId: string): Actor => ({ type: "api_key", id: keyId });

  routes.post(
    "/v1/events",
    {
      schema: {
        tags,
        security,
        summary: "Record an event and award its points",
        description:
          "The event is stored once per (source, external_id): sending it again answers 200 with the first result and `duplicate: true`. The shop's active earning rules run on it in the same database transaction as the ledger credit, and the explanation says which rules matched, what each gave and which limits cut it. Refunds (`order.refunded`) and cancellations take back the order's points in proportion to the refunded amount.",
        body: EventBody,
        response: { 200: EventResponse, 201: EventResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { event, duplicate } = await ingestEvent(
        deps.database,
        caller.shopId,
        request.body,
        { defaultSource: "api", actor: actorOf(caller.keyId) },
        deps.clock.now(),
      );
      return reply.code(duplicate ? 200 : 201).send(toEventJson(event, duplicate));
    },
  );

  routes.post(
    "/v1/events/batch",
    {
      // 1,000 orders with their product lists can pass the 1 MiB default; a batch may take 16 MiB.
      bodyLimit: Math.max(deps.config.bodyLimitBytes, batchBodyLimitBytes),
      schema: {
        tags,
        security,
        summary: `Record up to ${maxBatchEvents} events at once`,
        description:
          "Events are handled in the order sent, in one database transaction, each on its own: a refused event is reported at its index (`error`, a problem object) and the others are stored. Each stored event is summarized (id, status, points); GET /v1/events/{id} has its explanation. Duplicates answer with the first result, as on POST /v1/events.",
        body: BatchBody,
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                index: Type.Integer(),
                status: Type.Union([Type.Literal("created"), Type.Literal("duplicate"), Type.Literal("failed")]),
                event: Type.Optional(EventSummary),
                error: Type.Optional(ProblemSchema),
              }),
            ),
            created: Type.Integer(),
            duplicates: Type.Integer(),
            failed: Type.Integer(),
          }),
          ...problemResponses(400, 401, 403, 413, 429),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const items = await ingestBatch(
        deps.database,
        caller.shopId,
        request.body.events,
        { defaultSource: "api", actor: actorOf(caller.keyId) },
        deps.clock.now(),
      );
      const data = items.map((item) =>
        "result" in item
          ? {
              index: item.index,
              status: item.result.duplicate ? ("duplicate" as const) : ("created" as const),
              event: toEventSummaryJson(item.result.event, item.result.duplicate),
            }
          : {
              index: item.index,
              status: "failed" as const,
              error: toProblemBody(item.error, request.id) as Static<typeof ProblemSchema>,
            },
      );
      return {
        data,
        created: data.filter((item) => item.status === "created").length,
        duplicates: data.filter((item) => item.status === "duplicate").length,
        failed: data.filter((item) => item.status === "failed").length,
      };
    },
  );

  routes.get(
    "/v1/events",
    {
      schema: {
        tags,
        security,
        summary: "List events, newest first",
        querystring: ListEventsQuery,
        response: { 200: Page(EventResponse), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, member_id, type } = request.query;
      const rows = await listEvents(deps.database.db, callerOf(request).shopId, {
        limit: limit + 1,
        before: decodeCursor(cursor),
        memberId: member_id,
        type,
      });
      return toPage(rows, limit, (row) => toEventJson(row));
    },
  );

  routes.get(
    "/v1/events/:id",
    {
      schema: {
        tags,
        security,
        summary: "Get an event with the explanation of its points",
        description:
          "`explanation.rules` has one entry per rule that ran (matched or not, with the reason), `explanation.sentences` says the same in English, `explanation.ledger` lists the ledger transactions written, and `explanation.clawback` what a refund took back.",
        params: EventParams,
        response: { 200: EventResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toEventJson(await getEvent(deps.database.db, callerOf(request).shopId, request.params.id)),
  );

  routes.post(
    "/v1/rules/preview",
    {
      schema: {
        tags: ["Earning rules"],
        security,
        summary: "Evaluate draft rules on a sample event, without writing anything",
        description:
          "Runs the same evaluator as real events. With `member_id`, the member's tags, birthday, first order and limit usage count (usage only for drafts that carry the id of an existing rule).",
        body: PreviewBody,
        response: {
          200: Type.Object({
            explanation: Type.Object({}, { additionalProperties: true }),
            order: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
            member_id: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404, 422, 429),
        },
      },
    },
    async (request) => {
      const { shopId } = callerOf(request);
      const shop = await getShop(deps.database.db, shopId);
      const result = await previewRules(
        deps.database.db,
        { shop, rules: request.body.rules, event: request.body.event, memberId: request.body.member_id },
        deps.clock.now(),
      );
      return {
        explanation: withSentences({
          ...result.explanation,
          member: null,
          order: null,
          ledger: [],
          clawback: null,
          notes: [],
        }),
        order: result.order,
        member_id: result.member_id,
      };
    },
  );
}
