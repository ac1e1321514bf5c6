export { builtInEventTypes, isBuiltInEventType, isKnownEventType } from "./event-types.js";
export { registerEventTypeRoutes } from "./event-types-routes.js";
export {
  defaultBatchSize,
  defaultImportSource,
  ImportAbortedError,
  type ImportSummary,
  ImportUsageError,
  type InspectedFile,
  importOrders,
  inspectImportFile,
  maxBatchSize,
  sourcePattern,
  toImportSummaryJson,
} from "./import.js";
export { registerEventRoutes } from "./routes.js";
export type { EventBody } from "./schema.js";
export {
  type BatchItem,
  type IngestResult,
  IngestSession,
  ingestBatch,
  ingestEvent,
  ingestInTransaction,
} from "./service.js";
