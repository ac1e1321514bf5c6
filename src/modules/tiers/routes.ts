import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import type { Actor } from "../ledger/index.js";
import { authenticateCustomer, CustomerTokenHeaders, customerOf } from "../members/index.js";
import { getShop } from "../shops/index.js";
import { getTierProgress, listTierHistory, previewProgram } from "./queries.js";
import {
  AssignTierBody,
  HistoryQuery,
  PreviewBody,
  PreviewResponse,
  programJson,
  TierChangeResponse,
  TierProgramBody,
  TierProgramResponse,
  TierProgramVersionResponse,
  TierProgressQuery,
  TierProgressResponse,
  toPreviewJson,
  toProgramJson,
  toProgressJson,
  toTierChangeJson,
} from "./schema.js";
import { assignTier, checkProgram, getProgramOrThrow, listProgramVersions, saveProgram } from "./service.js";

const MemberParams = Type.Object({ id: Type.String({ maxLength: 100 }) }, { additionalProperties: false });

export function registerTierRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Tiers"];
  const security = [{ secretKey: [] }];
  const actorOf = (keyId: string): Actor => ({ type: "api_key", id: keyId });

  routes.get(
    "/v1/tiers",
    {
      schema: {
        tags,
        security,
        summary: "The shop's tier program",
        response: { 200: TierProgramResponse, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => toProgramJson(await getProgramOrThrow(deps.database.db, callerOf(request).shopId)),
  );

  routes.put(
    "/v1/tiers",
    {
      schema: {
        tags,
        security,
        summary: "Create or replace the tier program: saves a new version",
        description:
          "2–6 tiers, lowest first; the first is the base tier and has no thresholds. Members keep their tier until their next evaluation (an event, their re-evaluation, or `laurel tiers reevaluate --all`). Removing a tier some member holds is 409 `tier_in_use`. See docs/tiers.md.",
        body: TierProgramBody,
        response: { 200: TierProgramResponse, 201: TierProgramResponse, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { stored, created } = await withTransaction(deps.database, async (trx) =>
        saveProgram(trx, await getShop(trx, caller.shopId), request.body, actorOf(caller.keyId), deps.clock.now()),
      );
      return reply.code(created ? 201 : 200).send(toProgramJson(stored));
    },
  );

  routes.get(
    "/v1/tiers/versions",
    {
      schema: {
        tags,
        security,
        summary: "Every version of the tier program, newest first",
        description: "A member's tier names the version that qualified them (`qualified_under_version`).",
        response: {
          200: Type.Object({ data: Type.Array(TierProgramVersionResponse) }),
          ...problemResponses(401, 403, 429),
        },
      },
    },
    async (request) => ({
      data: (await listProgramVersions(deps.database.db, callerOf(request).shopId)).map((version) => ({
        object: "tier_program_version" as const,
        version: version.version,
        ...programJson(version.program),
        actor: version.actor,
        created_at: version.createdAt,
      })),
    }),
  );

  routes.post(
    "/v1/tiers/preview",
    {
      schema: {
        tags,
        security,
        summary: "Where members would land under a draft program, without writing anything",
        description:
          "Evaluates every active member now as a re-evaluation without grace would: upgrades to the highest tier they qualify for, downgrades by at most `max_downgrade_steps`, members with a manual lock stay. Lists up to `sample` members who would move.",
        body: PreviewBody,
        response: { 200: PreviewResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const shop = await getShop(deps.database.db, callerOf(request).shopId);
      const program = checkProgram(request.body.program, shop, "/body/program");
      return toPreviewJson(
        await previewProgram(deps.database.db, shop, program, deps.clock.now(), request.body.sample ?? 100),
      );
    },
  );

  routes.get(
    "/v1/members/:id/tier",
    {
      schema: {
        tags,
        security,
        summary: "A member's tier, its benefits, and the progress to the next one",
        params: MemberParams,
        querystring: TierProgressQuery,
        response: { 200: TierProgressResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const shop = await getShop(deps.database.db, callerOf(request).shopId);
      return toProgressJson(
        await getTierProgress(deps.database.db, shop, request.params.id, deps.clock.now(), request.query.locale),
      );
    },
  );

  routes.put(
    "/v1/members/:id/tier",
    {
      schema: {
        tags,
        security,
        summary: "Assign a member a tier by hand",
        description:
          "Starts a new period on that tier. With `locked_until` the member is not downgraded before then (upgrades still happen). Recorded in the history with the reason, and sent as `tier.assigned`.",
        params: MemberParams,
        body: AssignTierBody,
        response: { 200: TierProgressResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const now = deps.clock.now();
      await withTransaction(deps.database, (trx) =>
        assignTier(
          trx,
          {
            shopId: caller.shopId,
            memberId: request.params.id,
            tier: request.body.tier,
            reason: request.body.reason,
            lockedUntil: request.body.locked_until ? new Date(request.body.locked_until).toISOString() : null,
            actor: actorOf(caller.keyId),
          },
          now,
        ),
      );
      const shop = await getShop(deps.database.db, caller.shopId);
      return toProgressJson(await getTierProgress(deps.database.db, shop, request.params.id, now));
    },
  );

  routes.get(
    "/v1/members/:id/tier/history",
    {
      schema: {
        tags,
        security,
        summary: "Every tier change of a member, newest first",
        description:
          "Upgrades, downgrades, manual assignments, and grace periods started and ended, each with the reason, the program version and the metrics it was decided on.",
        params: MemberParams,
        querystring: HistoryQuery,
        response: { 200: Page(TierChangeResponse), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const rows = await listTierHistory(deps.database.db, callerOf(request).shopId, request.params.id, {
        limit: limit + 1,
        before: decodeCursor(cursor),
      });
      return toPage(rows, limit, toTierChangeJson);
    },
  );

  routes.get(
    "/v1/me/tier",
    {
      config: { auth: "publishable" as const },
      onRequest: authenticateCustomer(deps),
      schema: {
        tags: ["Storefront"],
        security: [{ publishableKey: [] }, { secretKey: [] }],
        summary: "The shopper's tier and progress",
        description: "The same as GET /v1/members/{id}/tier, for the member the customer token names.",
        headers: CustomerTokenHeaders,
        querystring: TierProgressQuery,
        response: { 200: TierProgressResponse, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const shop = await getShop(deps.database.db, callerOf(request).shopId);
      return toProgressJson(
        await getTierProgress(
          deps.database.db,
          shop,
          customerOf(request).memberId,
          deps.clock.now(),
          request.query.locale,
        ),
      );
    },
  );
}
