import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, PageQuery, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import { mergeMembers } from "./merge.js";
import { MemberIdParams, MemberResponse, toMemberResponse } from "./schema.js";
import { getMemberTimeline, type TimelineItem } from "./timeline.js";

const MergeBody = Type.Object(
  {
    duplicate_id: Type.String({
      minLength: 1,
      maxLength: 64,
      description: "The member to merge into the one in the path; it ends cancelled, pointing at the survivor",
      examples: ["mem_01JD3M9B2E4W8Y6T0R3K5P7QXA"],
    }),
  },
  { additionalProperties: false, examples: [{ duplicate_id: "mem_01JD3M9B2E4W8Y6T0R3K5P7QXA" }] },
);

const eventType = "[a-z_]+(\\.[a-z_]+)*";

const TimelineQuery = Type.Object(
  {
    ...PageQuery.properties,
    types: Type.Optional(
      Type.String({
        pattern: `^${eventType}(,${eventType})*$`,
        maxLength: 200,
        description:
          "Comma-separated event type prefixes: `points` is every points.* event, `member.merged` that one type",
        examples: ["points,consent"],
      }),
    ),
  },
  { additionalProperties: false },
);

const TimelineEntry = Type.Object({
  id: Type.String({
    description: "The event's id (as delivered in webhooks)",
    examples: ["evt_01JD3MA4F7H2K9N3Q5S8V0X1ZB"],
  }),
  object: Type.Literal("member_timeline_item"),
  type: Type.String({ examples: ["points.earned"] }),
  member_id: Type.String({
    description: "Whose event it is: the member, or a member since merged into it",
  }),
  occurred_at: Type.String({ format: "date-time" }),
  summary: Type.String({
    description: "A short English sentence for an admin screen",
    examples: ["Earned 500 points"],
  }),
  data: Type.Record(Type.String(), Type.Unknown(), { description: "The event's data, as in the webhook" }),
});

function timelineJson(item: TimelineItem) {
  return {
    id: item.id,
    object: "member_timeline_item" as const,
    type: item.type,
    member_id: item.memberId,
    occurred_at: item.occurredAt,
    summary: item.summary,
    data: item.data,
  };
}

export function registerMergeAndTimelineRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Members"];
  const security = [{ secretKey: [] }];

  routes.post(
    "/v1/members/:id/merge",
    {
      schema: {
        tags,
        security,
        summary: "Merge a duplicate member into this one",
        description:
          "In one transaction: the duplicate's identifiers move here; its profile fills this member's gaps (this member's values win); its consent history is copied here (the current state per purpose is the latest record of either); its points move with a `transfer` transaction referencing the duplicate, keeping lots, expiry and lifetime totals. The duplicate ends `cancelled` with `merged_into_member_id` set. Emits member.merged. Merging the same duplicate again returns this member unchanged. 409 `member_not_mergeable` for a member into itself, an erased member, a duplicate merged elsewhere, or a survivor that is cancelled or was itself merged; 409 `reservations_active` while the duplicate holds points reserved at checkout.",
        params: MemberIdParams,
        body: MergeBody,
        response: { 200: MemberResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId, keyId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        mergeMembers(
          trx,
          {
            shopId,
            survivorId: request.params.id,
            duplicateId: request.body.duplicate_id,
            actor: { type: "api_key", id: keyId },
          },
          deps.clock.now(),
        ),
      );
      if (result.replayed) reply.header("idempotent-replayed", "true");
      return toMemberResponse(result.member);
    },
  );

  routes.get(
    "/v1/members/:id/timeline",
    {
      schema: {
        tags,
        security,
        summary: "Everything that happened to a member, newest first",
        description:
          "One feed of the member's events (member.*, profile.*, consent.*, points.*), each with a one-line summary, including the history of every member merged into this one.",
        params: MemberIdParams,
        querystring: TimelineQuery,
        response: { 200: Page(TimelineEntry), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, types } = request.query;
      const items = await getMemberTimeline(deps.database.db, callerOf(request).shopId, request.params.id, {
        limit: limit + 1,
        before: decodeCursor(cursor),
        types: types?.split(","),
      });
      return toPage(items, limit, timelineJson);
    },
  );
}
