import { type Static, Type } from "typebox";
import { PageQuery } from "../../platform/http/pagination.js";
import { maxPointsPerTransaction } from "./service.js";
import { type TransactionType, transactionTypes } from "./tables.js";

const Timestamp = Type.String({ format: "date-time" });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const Points = Type.Integer({ minimum: 0 });

const TransactionTypeSchema = Type.Enum(transactionTypes, {
  description: "What the transaction did; each type has a fixed pattern of entries (see docs/ledger.md)",
});

export const PointsTransaction = Type.Object(
  {
    id: Type.String({ examples: ["txn_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("points_transaction"),
    member_id: Type.String(),
    type: TransactionTypeSchema,
    amount: Type.Integer({ minimum: 1, description: "Points moved (always positive; the type says which way)" }),
    reason: Type.Union([Type.String(), Type.Null()]),
    reference: Type.Union([Type.String(), Type.Null()], { description: "Order, event or redemption id" }),
    actor: Type.Object({
      type: Type.Union([Type.Literal("api_key"), Type.Literal("admin"), Type.Literal("system")]),
      id: Type.Union([Type.String(), Type.Null()], { description: "The API key or admin user; null for Laurel" }),
    }),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    reverses_transaction_id: Type.Union([Type.String(), Type.Null()]),
    confirms_transaction_id: Type.Union([Type.String(), Type.Null()], {
      description: "For a confirm: the credit whose pending points it made available",
    }),
    reversed_amount: Type.Integer({ minimum: 0, description: "How much later reversals have undone" }),
    reservation_id: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { $id: "PointsTransaction" },
);

export const PointsTransactionDetail = Type.Object({
  ...PointsTransaction.properties,
  entries: Type.Array(
    Type.Object({
      line: Type.Integer(),
      account: Type.String({
        description: "available/pending/reserved (the member's) or issued/redeemed/expired/adjustments/reversals",
      }),
      member_id: Type.Union([Type.String(), Type.Null()], { description: "Null for the shop's system accounts" }),
      amount: Type.Integer({ description: "Signed; the entries of a transaction sum to zero" }),
    }),
  ),
  lot_movements: Type.Array(Type.Object({ lot_id: Type.String(), amount: Type.Integer() })),
});

export const PointsBalance = Type.Object(
  {
    member_id: Type.String(),
    available: Points,
    pending: Type.Integer({ minimum: 0, description: "Visible but not spendable until confirmed" }),
    reserved: Type.Integer({ minimum: 0, description: "Set aside by open reservations" }),
    lifetime_earned: Points,
    lifetime_spent: Points,
    lifetime_expired: Points,
    debt: Type.Integer({
      minimum: 0,
      description:
        "Points the member owes: a refund took back points already spent. Later earnings repay it before they become available.",
    }),
  },
  { $id: "PointsBalance" },
);

export const PointsSummary = Type.Object({
  object: Type.Literal("points_summary"),
  ...PointsBalance.properties,
  balance: Type.Integer({
    description:
      "What to show the member: `available`, or `available - debt` (below zero) when the shop's `allow_negative_balance` is true",
  }),
  next_expiration: Type.Union([Type.Object({ at: Timestamp, points: Points }), Type.Null()], {
    description: "The soonest expiry among available points and how many expire then",
  }),
  expiring_within_30_days: Points,
  as_of: Timestamp,
});

export const PointsReservation = Type.Object(
  {
    id: Type.String({ examples: ["res_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("points_reservation"),
    member_id: Type.String(),
    amount: Type.Integer({ minimum: 1 }),
    status: Type.Union([
      Type.Literal("active"),
      Type.Literal("committed"),
      Type.Literal("released"),
      Type.Literal("expired"),
    ]),
    reference: Type.Union([Type.String(), Type.Null()]),
    expires_at: Timestamp,
    reserve_transaction_id: Type.String(),
    commit_transaction_id: Type.Union([Type.String(), Type.Null()]),
    release_transaction_id: Type.Union([Type.String(), Type.Null()]),
    committed_amount: Points,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "PointsReservation" },
);

export const PointsLot = Type.Object(
  {
    id: Type.String({ examples: ["lot_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("points_lot"),
    member_id: Type.String(),
    transaction_id: Type.String({ description: "The transaction that credited it" }),
    state: Type.Union([Type.Literal("pending"), Type.Literal("available")]),
    amount: Type.Integer({ minimum: 1 }),
    remaining: Points,
    pending_until: NullableTimestamp,
    expires_at: Type.Union([Timestamp, Type.Null()], { description: "Null: never expires" }),
    created_at: Timestamp,
  },
  { $id: "PointsLot" },
);

export const PointsResult = Type.Object({
  object: Type.Literal("points_result"),
  transaction: PointsTransaction,
  balance: PointsBalance,
});

export const ReservationResult = Type.Object({
  ...PointsResult.properties,
  reservation: PointsReservation,
});

const Reason = Type.String({ minLength: 1, maxLength: 500 });
const Reference = Type.String({ minLength: 1, maxLength: 200 });
const Metadata = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  maxProperties: 50,
  description: "Your own key/value data, up to 50 keys and 4 KB as JSON; returned as given",
});

export const AdjustmentBody = Type.Object(
  {
    amount: Type.Integer({
      minimum: -maxPointsPerTransaction,
      maximum: maxPointsPerTransaction,
      not: { const: 0 },
      description: "Positive credits the member, negative debits; a debit beyond the available points is 422",
    }),
    reason: Reason,
    reference: Type.Optional(Reference),
    expires_at: Type.Optional(
      Type.Union([Timestamp, Type.Null()], { description: "Credits only: when the points expire; omit for never" }),
    ),
    metadata: Type.Optional(Metadata),
  },
  {
    additionalProperties: false,
    examples: [{ amount: 500, reason: "Apology for a late delivery", expires_at: "2027-03-01T00:00:00Z" }],
  },
);
export type AdjustmentBody = Static<typeof AdjustmentBody>;

export const ReverseBody = Type.Object(
  {
    amount: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxPointsPerTransaction,
        description: "Reverse only this much (a partial refund); omit for all that is not reversed yet",
      }),
    ),
    reason: Type.Optional(Reason),
    reference: Type.Optional(Reference),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, examples: [{ amount: 120, reason: "Order 1001 partly refunded" }] },
);

export const CommandBody = Type.Object(
  { reason: Type.Optional(Reason), reference: Type.Optional(Reference), metadata: Type.Optional(Metadata) },
  { additionalProperties: false, examples: [{ reason: "Return window closed" }] },
);

export const defaultReservationSeconds = 15 * 60;

export const ReserveBody = Type.Object(
  {
    amount: Type.Integer({ minimum: 1, maximum: maxPointsPerTransaction }),
    expires_in_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 7 * 24 * 60 * 60,
        default: defaultReservationSeconds,
        description: "How long the points stay reserved before they are released on their own (default 15 minutes)",
      }),
    ),
    reference: Type.Optional(Reference),
    reason: Type.Optional(Reason),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, examples: [{ amount: 500, reference: "cart_8841", expires_in_seconds: 900 }] },
);

export const CommitBody = Type.Object(
  {
    amount: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxPointsPerTransaction,
        description: "Spend only this much and release the rest; omit to spend all that is reserved",
      }),
    ),
    reason: Type.Optional(Reason),
    reference: Type.Optional(Reference),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, examples: [{ reference: "order_1001" }] },
);

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const TransactionsQuery = Type.Object(
  {
    ...PageQuery.properties,
    type: Type.Optional(
      Type.String({
        maxLength: 200,
        pattern: `^(${transactionTypes.join("|")})(,(${transactionTypes.join("|")}))*$`,
        description: "Only these types, comma-separated (e.g. `earn,redeem`)",
      }),
    ),
    created_from: Type.Optional(Type.String({ format: "date-time", description: "Created at or after" })),
    created_to: Type.Optional(Type.String({ format: "date-time", description: "Created before" })),
  },
  { additionalProperties: false },
);

/** The service filter a `TransactionsQuery` asks for (one more row than the page, to see if more follow). */
export function toTransactionFilter(query: Static<typeof TransactionsQuery>, after: string | undefined) {
  return {
    limit: query.limit + 1,
    after,
    types: query.type?.split(",") as TransactionType[] | undefined,
    from: query.created_from ? new Date(query.created_from).toISOString() : undefined,
    to: query.created_to ? new Date(query.created_to).toISOString() : undefined,
  };
}

export const ReservationsQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(
      Type.Union([
        Type.Literal("active"),
        Type.Literal("committed"),
        Type.Literal("released"),
        Type.Literal("expired"),
      ]),
    ),
  },
  { additionalProperties: false },
);

const Money = Type.Object({ amount: Type.Integer({ description: "Minor units" }), currency: Type.String() });

export const PointsLiabilityReport = Type.Object({
  object: Type.Literal("points_liability"),
  as_of: Timestamp,
  currency: Type.String(),
  rate: Type.Object(
    { points: Type.Integer(), amount: Type.Integer() },
    { description: "`points` points are worth `amount` minor units of `currency` (the shop's redemption rate)" },
  ),
  available: Points,
  pending: Points,
  reserved: Points,
  outstanding: Type.Integer({ minimum: 0, description: "available + pending + reserved" }),
  value: Money,
  awaiting_expiry: Type.Integer({
    minimum: 0,
    description: "Points past their expiry that a settlement has not expired yet; not counted as owed",
  }),
  by_expiry_month: Type.Array(
    Type.Object({
      month: Type.Union([Type.String(), Type.Null()], {
        description: "YYYY-MM in the shop's time zone; `later` beyond 50 years; null for points that never expire",
      }),
      points: Points,
      value: Money,
    }),
  ),
});
