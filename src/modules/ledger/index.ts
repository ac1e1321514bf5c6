export { lockAccountOrThrow as lockMemberAccount, systemActor, type TransactionDetails } from "./posting.js";
export {
  getPointsSummary,
  getReservation,
  getTransactionDetail,
  listLots,
  listReservations,
  listTransactions,
  type PointsLiability,
  type PointsSummary,
  pointsLiability,
  pointsValue,
  settleDueAccounts,
} from "./queries.js";
export {
  type Actor,
  type LedgerTransaction,
  type Lot,
  type PointBalance,
  type Reservation,
  toPointsSummaryJson,
  toTransactionJson,
} from "./representation.js";
export { registerLedgerRoutes } from "./routes.js";
export {
  PointsSummary as PointsSummarySchema,
  PointsTransaction as PointsTransactionSchema,
  TransactionsQuery as TransactionsQuerySchema,
  toTransactionFilter,
} from "./schema.js";
export {
  commitReservation,
  confirmPending,
  creditPoints,
  debitPoints,
  type LedgerResult,
  openPointsAccount,
  readReservation,
  releaseReservation,
  reservePoints,
  reverseTransaction,
  settleAccount,
  transferAccount,
} from "./service.js";
export { type LedgerProblem, type VerifyReport, verifyLedger } from "./verify.js";
