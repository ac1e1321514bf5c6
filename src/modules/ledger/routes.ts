import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { withTransaction } from "../../platform/db/transaction.js";
import type { AppDeps } from "../../platform/deps.js";
import { AppError } from "../../platform/errors.js";
import { callerOf } from "../../platform/http/auth.js";
import { decodeCursor, Page, PageQuery, toPage } from "../../platform/http/pagination.js";
import { problemResponses } from "../../platform/http/problem.js";
import { absentBodyAsEmptyObject } from "../../platform/http/validation.js";
import type { TransactionDetails } from "./posting.js";
import {
  getPointsSummary,
  getReservation,
  getTransactionDetail,
  listLots,
  listReservations,
  listTransactions,
  pointsLiability,
} from "./queries.js";
import {
  toBalanceJson,
  toEntryJson,
  toLotJson,
  toMovementJson,
  toPointsSummaryJson,
  toReservationJson,
  toTransactionJson,
} from "./representation.js";
import {
  AdjustmentBody,
  CommandBody,
  CommitBody,
  IdParams,
  PointsLiabilityReport,
  PointsLot,
  PointsReservation,
  PointsResult,
  PointsSummary,
  PointsTransaction,
  PointsTransactionDetail,
  ReservationResult,
  ReservationsQuery,
  ReserveBody,
  ReverseBody,
  TransactionsQuery,
  toTransactionFilter,
} from "./schema.js";
import {
  commitReservation,
  confirmPending,
  creditPoints,
  debitPoints,
  type LedgerResult,
  type ReservationResult as ReservationOutcome,
  releaseReservation,
  reservePoints,
  reverseTransaction,
} from "./service.js";

const maxMetadataBytes = 4096;

/**
 * What every ledger command takes from the request: who is acting (the API key) and the
 * Idempotency-Key, which the ledger also stores on its transaction. The HTTP layer's stored
 * response covers ordinary retries; the ledger's copy covers a retry after that response was lost
 * (a crash between commit and storing it) or expired.
 */
function details(
  request: FastifyRequest,
  body: { reason?: string | undefined; reference?: string | undefined; metadata?: Record<string, unknown> | undefined },
): TransactionDetails {
  if (body.metadata !== undefined && Buffer.byteLength(JSON.stringify(body.metadata)) > maxMetadataBytes) {
    throw new AppError("invalid_field_value", "metadata is larger than 4 KB", {
      errors: [{ pointer: "/body/metadata", message: "must be at most 4 KB as JSON" }],
    });
  }
  const caller = callerOf(request);
  return {
    reason: body.reason ?? null,
    reference: body.reference ?? null,
    metadata: body.metadata,
    actor: { type: "api_key", id: caller.keyId },
    // Scoped to the request path, so one key reused on another route (allowed once the HTTP
    // layer's 24-hour record is gone) is a new change there, never a replay of this one.
    idempotencyKey: request.idempotency
      ? `http:${request.method} ${request.url.split("?")[0]} ${request.idempotency.key}`
      : null,
  };
}

function resultJson(result: LedgerResult) {
  return {
    object: "points_result" as const,
    transaction: toTransactionJson(result.transaction),
    balance: toBalanceJson(result.balance),
  };
}

function reservationJson(result: ReservationOutcome) {
  return { ...resultJson(result), reservation: toReservationJson(result.reservation) };
}

/** A replay found by the ledger (not by the HTTP layer) is marked like any other replay. */
function markReplay(reply: FastifyReply, result: LedgerResult): void {
  if (result.replayed) reply.header("idempotent-replayed", "true");
}

export function registerLedgerRoutes(app: FastifyInstance, deps: AppDeps): void {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["Points"];
  const security = [{ secretKey: [] }];

  routes.get(
    "/v1/members/:id/points",
    {
      schema: {
        tags,
        security,
        summary: "A member's points: available, pending, reserved, lifetime totals and what expires next",
        params: IdParams,
        response: { 200: PointsSummary, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => {
      const summary = await getPointsSummary(
        deps.database,
        callerOf(request).shopId,
        request.params.id,
        deps.clock.now(),
      );
      return toPointsSummaryJson(summary);
    },
  );

  routes.get(
    "/v1/members/:id/points/transactions",
    {
      schema: {
        tags,
        security,
        summary: "A member's points history, newest first",
        params: IdParams,
        querystring: TransactionsQuery,
        response: { 200: Page(PointsTransaction), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const transactions = await listTransactions(
        deps.database,
        callerOf(request).shopId,
        request.params.id,
        toTransactionFilter(request.query, decodeCursor(request.query.cursor)),
        deps.clock.now(),
      );
      return toPage(transactions, request.query.limit, toTransactionJson);
    },
  );

  routes.get(
    "/v1/members/:id/points/lots",
    {
      schema: {
        tags,
        security,
        summary: "A member's lots that still hold points, with their expiry, newest first",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: Page(PointsLot), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const lots = await listLots(
        deps.database,
        callerOf(request).shopId,
        request.params.id,
        { limit: limit + 1, after: decodeCursor(cursor) },
        deps.clock.now(),
      );
      return toPage(lots, limit, toLotJson);
    },
  );

  routes.post(
    "/v1/members/:id/points/adjustments",
    {
      schema: {
        tags,
        security,
        summary: "Credit or debit a member's points by hand, with a reason",
        description:
          "A positive amount credits a new lot (optionally expiring); a negative amount debits the available points, soonest-expiring first. A debit beyond the available points is 422 `insufficient_points` and changes nothing.",
        params: IdParams,
        body: AdjustmentBody,
        response: { 201: PointsResult, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const body = request.body;
      const now = deps.clock.now();
      const common = { ...details(request, body), shopId, memberId: request.params.id };
      if (body.amount < 0 && body.expires_at !== undefined) {
        throw new AppError("invalid_field_value", "expires_at applies to credits only", {
          errors: [{ pointer: "/body/expires_at", message: "applies to credits (positive amounts) only" }],
        });
      }
      const result = await withTransaction(deps.database, (trx) =>
        body.amount > 0
          ? creditPoints(trx, { ...common, type: "adjust", amount: body.amount, expiresAt: body.expires_at }, now)
          : debitPoints(trx, { ...common, type: "adjust", amount: -body.amount }, now),
      );
      markReplay(reply, result);
      return reply.code(201).send(resultJson(result));
    },
  );

  routes.get(
    "/v1/points/transactions/:id",
    {
      schema: {
        tags,
        security,
        summary: "One points transaction with its entries and lot movements",
        params: IdParams,
        response: { 200: PointsTransactionDetail, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) => {
      const detail = await getTransactionDetail(deps.database.db, callerOf(request).shopId, request.params.id);
      return {
        ...toTransactionJson(detail.transaction),
        entries: detail.entries.map(toEntryJson),
        lot_movements: detail.movements.map(toMovementJson),
      };
    },
  );

  routes.post(
    "/v1/points/transactions/:id/reverse",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Reverse an earn, import, adjustment or spend, wholly or in part",
        description:
          "Writes a new `reverse` transaction; the original stays. Reversing a credit takes the points back (422 `insufficient_points` if they are no longer available); reversing pending points cancels them; reversing a spend returns the points to the lots they came from, with their original expiry.",
        params: IdParams,
        body: ReverseBody,
        response: { 201: PointsResult, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        reverseTransaction(
          trx,
          {
            ...details(request, request.body),
            shopId,
            transactionId: request.params.id,
            amount: request.body.amount,
          },
          deps.clock.now(),
        ),
      );
      markReplay(reply, result);
      return reply.code(201).send(resultJson(result));
    },
  );

  routes.post(
    "/v1/points/transactions/:id/confirm",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Confirm pending points now, making them spendable",
        description: "409 `not_pending` when the transaction holds no pending points (confirmed or cancelled).",
        params: IdParams,
        body: CommandBody,
        response: { 201: PointsResult, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        confirmPending(
          trx,
          { ...details(request, request.body), shopId, transactionId: request.params.id },
          deps.clock.now(),
        ),
      );
      markReplay(reply, result);
      return reply.code(201).send(resultJson(result));
    },
  );

  routes.post(
    "/v1/members/:id/points/reservations",
    {
      schema: {
        tags,
        security,
        summary: "Reserve points for a checkout (two-phase spend)",
        description:
          "The points leave the available balance at once and are held until committed (spent), released, or `expires_in_seconds` passes (default 15 minutes, at most 7 days), when they return on their own.",
        params: IdParams,
        body: ReserveBody,
        response: { 201: ReservationResult, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const now = deps.clock.now();
      const seconds = request.body.expires_in_seconds ?? 900;
      const result = await withTransaction(deps.database, (trx) =>
        reservePoints(
          trx,
          {
            ...details(request, request.body),
            shopId,
            memberId: request.params.id,
            amount: request.body.amount,
            expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
          },
          now,
        ),
      );
      markReplay(reply, result);
      return reply.code(201).send(reservationJson(result));
    },
  );

  routes.get(
    "/v1/members/:id/points/reservations",
    {
      schema: {
        tags,
        security,
        summary: "A member's reservations, newest first",
        params: IdParams,
        querystring: ReservationsQuery,
        response: { 200: Page(PointsReservation), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { limit, cursor, status } = request.query;
      const reservations = await listReservations(
        deps.database,
        callerOf(request).shopId,
        request.params.id,
        { limit: limit + 1, after: decodeCursor(cursor), status },
        deps.clock.now(),
      );
      return toPage(reservations, limit, toReservationJson);
    },
  );

  routes.get(
    "/v1/points/reservations/:id",
    {
      schema: {
        tags,
        security,
        summary: "One reservation",
        params: IdParams,
        response: { 200: PointsReservation, ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request) =>
      toReservationJson(
        await getReservation(deps.database, callerOf(request).shopId, request.params.id, deps.clock.now()),
      ),
  );

  routes.post(
    "/v1/points/reservations/:id/commit",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Spend reserved points (all, or part and release the rest)",
        description:
          "409 `reservation_not_active` when the reservation was released or expired. Committing a committed reservation again with the same amount returns it unchanged.",
        params: IdParams,
        body: CommitBody,
        response: { 200: ReservationResult, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        commitReservation(
          trx,
          {
            ...details(request, request.body),
            shopId,
            reservationId: request.params.id,
            amount: request.body.amount,
          },
          deps.clock.now(),
        ),
      );
      markReplay(reply, result);
      return reservationJson(result);
    },
  );

  routes.post(
    "/v1/points/reservations/:id/release",
    {
      preValidation: absentBodyAsEmptyObject,
      schema: {
        tags,
        security,
        summary: "Release reserved points back to the member",
        description: "Releasing a released reservation returns it unchanged; a committed one is 409.",
        params: IdParams,
        body: CommandBody,
        response: { 200: ReservationResult, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { shopId } = callerOf(request);
      const result = await withTransaction(deps.database, (trx) =>
        releaseReservation(
          trx,
          { ...details(request, request.body), shopId, reservationId: request.params.id },
          deps.clock.now(),
        ),
      );
      markReplay(reply, result);
      return reservationJson(result);
    },
  );

  routes.get(
    "/v1/reports/points-liability",
    {
      schema: {
        tags: ["Reports"],
        security,
        summary: "Outstanding points, their money value at the redemption rate, and when they expire",
        response: { 200: PointsLiabilityReport, ...problemResponses(401, 403, 429) },
      },
    },
    async (request) => {
      const report = await pointsLiability(deps.database.db, callerOf(request).shopId, deps.clock.now());
      return {
        object: "points_liability" as const,
        as_of: report.asOf,
        currency: report.currency,
        rate: report.rate,
        available: report.available,
        pending: report.pending,
        reserved: report.reserved,
        outstanding: report.outstanding,
        value: report.value,
        awaiting_expiry: report.awaitingExpiry,
        by_expiry_month: report.byExpiryMonth,
      };
    },
  );
}
