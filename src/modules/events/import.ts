import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { performance } from "node:perf_hooks";
import { StringDecoder } from "node:string_decoder";
import type { ValidateFunction } from "ajv";
import { parseDecimalAmount } from "../../integrations/money.js";
import type { Clock } from "../../platform/clock.js";
import { isUniqueViolation } from "../../platform/db/constraint-errors.js";
import type { DatabaseHandle } from "../../platform/db/database.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { type AppError, type FieldError, isAppError } from "../../platform/errors.js";
import { toFieldErrors, validatorCompiler } from "../../platform/http/validation.js";
import { newId } from "../../platform/ids.js";
import { isCurrencyCode } from "../../platform/intl.js";
import type { Actor } from "../ledger/index.js";
import { getShop, type Shop } from "../shops/index.js";
import { EventBody } from "./schema.js";
import { buffered, IngestSession, ingestInTransaction, needsIsolation } from "./service.js";
import type { ImportRunsTable } from "./tables.js";

/**
 * Backfilling history from files: `laurel import orders <file>`. A CSV of paid orders or a JSON
 * Lines file of event bodies is read in file order and ingested in batches, each batch in one
 * database transaction together with the import run's checkpoint, so an import that stops (killed,
 * database gone) resumes exactly after its last committed batch when the same file is run again.
 */

export type ImportFormat = "csv" | "jsonl";

export const defaultImportSource = "import";
export const defaultBatchSize = 500;
export const maxBatchSize = 10_000;
/** The run keeps this many record errors; the counters count all of them. */
export const maxKeptErrors = 100;
/** What `source` accepts in an event body. */
export const sourcePattern = /^[a-z][a-z0-9_-]{0,39}$/;

/**
 * The command cannot run as asked: the file is missing, of an unknown kind or not in the documented
 * format (a CSV syntax error, a bad header), or an option is out of range. Nothing was written.
 */
export class ImportUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportUsageError";
  }
}

/** A database failure stopped the import; the batches before it are committed and a rerun resumes after them. */
export class ImportAbortedError extends Error {
  constructor(
    message: string,
    readonly recordsDone: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "ImportAbortedError";
  }
}

/** One refused record: `record` counts data records from 1 (CSV: rows after the header; JSON Lines: non-empty lines). */
export interface ImportRecordError {
  record: number;
  /** Where in the record: a JSON pointer into the event body (JSON Lines) or `/<column>` (CSV); "" for the whole record. */
  pointer: string;
  message: string;
}

/** What the first, cheap pass over the file found. */
export interface InspectedFile {
  path: string;
  name: string;
  format: ImportFormat;
  sha256: string;
  bytes: number;
  /** Data records: non-empty lines, or CSV rows after the header that are not blank. */
  records: number;
}

export interface ImportProgress {
  runId: string;
  total: number;
  recordsDone: number;
  /** Records done before this invocation (a resumed run). */
  resumedFrom: number;
  eventsCreated: number;
  duplicates: number;
  failed: number;
  /** Batches committed by this invocation. */
  batches: number;
}

export interface ImportOptions {
  shopId: string;
  filePath: string;
  /** For records that name no source; default "import". */
  source?: string;
  /** Records per database transaction; default 500. */
  batchSize?: number;
  /** Who the ledger credits name; default the admin actor `import:<run id>`. */
  actor?: Actor;
  /** The result of inspectImportFile for this path, to skip the first pass. */
  inspected?: InspectedFile;
  /** Called once the run is found or created, before the first batch. */
  onStart?: (progress: ImportProgress) => void;
  /** Called after each committed batch. Throwing stops the import there, as a kill would. */
  onProgress?: (progress: ImportProgress) => void | Promise<void>;
}

export interface ImportSummary {
  runId: string;
  shopId: string;
  fileName: string;
  fileSha256: string;
  format: ImportFormat;
  /** True when the file had been imported completely before: nothing was done this time. */
  alreadyImported: boolean;
  records: number;
  resumedFrom: number;
  eventsCreated: number;
  duplicates: number;
  failed: number;
  /** The first 100 errors of the whole run (including earlier, interrupted invocations). */
  errors: ImportRecordError[];
  startedAt: string;
  finishedAt: string;
  /** Wall time of this invocation, and the records it handled per second. */
  elapsedMs: number;
  recordsPerSecond: number;
}

export function toImportSummaryJson(summary: ImportSummary) {
  return {
    object: "import_run" as const,
    id: summary.runId,
    shop_id: summary.shopId,
    kind: "orders" as const,
    file_name: summary.fileName,
    file_sha256: summary.fileSha256,
    format: summary.format,
    status: "finished" as const,
    already_imported: summary.alreadyImported,
    records: summary.records,
    resumed_from: summary.resumedFrom,
    events_created: summary.eventsCreated,
    duplicates: summary.duplicates,
    failed: summary.failed,
    errors: summary.errors,
    started_at: summary.startedAt,
    finished_at: summary.finishedAt,
    elapsed_ms: summary.elapsedMs,
    records_per_second: summary.recordsPerSecond,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading files

export function formatOf(filePath: string): ImportFormat | undefined {
  const extension = extname(filePath).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  return undefined;
}

/** The file's text in chunks, decoded as UTF-8 across chunk boundaries, without a leading byte order mark. */
async function* textChunks(filePath: string, onBytes?: (bytes: Buffer) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  let first = true;
  for await (const bytes of createReadStream(filePath, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    onBytes?.(bytes);
    let text = decoder.write(bytes);
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    if (text.length > 0) yield text;
  }
  const rest = decoder.end();
  if (rest.length > 0) yield rest;
}

/** A CSV syntax error: the file cannot be split into rows, so nothing of it is imported. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "CsvSyntaxError";
  }
}

export interface CsvRow {
  /** The line the row starts on (1-based). */
  line: number;
  fields: string[];
}

/**
 * An incremental RFC 4180 parser: fields separated by commas, rows by CRLF, LF or CR; a field in
 * double quotes may hold commas, line breaks and doubled quotes (`""` is one `"`). A quote inside
 * an unquoted field is kept as it is. Text after a closing quote, or a quote left open at the end,
 * is a CsvSyntaxError. Feed it chunks cut anywhere with push(); end() returns the last row.
 */
export class CsvParser {
  private state: "start" | "unquoted" | "quoted" | "quote" = "start";
  private field = "";
  private fields: string[] = [];
  private line = 1;
  private rowLine = 1;
  private quoteLine = 1;
  private afterCarriageReturn = false;
  private quotedCarriageReturn = false;
  private rowStarted = false;

  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = [];
    for (let index = 0; index < chunk.length; index++) {
      const char = chunk[index] as string;
      if (this.afterCarriageReturn) {
        this.afterCarriageReturn = false;
        if (char === "\n") continue;
      }
      if (this.state === "quoted") {
        if (char === '"') {
          this.state = "quote";
        } else {
          // A line break inside quotes is part of the field; CRLF counts as one line.
          if (char === "\r" || (char === "\n" && !this.quotedCarriageReturn)) this.line += 1;
          this.field += char;
        }
        this.quotedCarriageReturn = char === "\r";
        continue;
      }
      if (this.state === "quote") {
        if (char === '"') {
          this.field += '"';
          this.state = "quoted";
          continue;
        }
        if (char !== "," && char !== "\n" && char !== "\r") {
          throw new CsvSyntaxError(this.line, `unexpected ${JSON.stringify(char)} after a closing quote`);
        }
      }
      if (!this.rowStarted) {
        this.rowStarted = true;
        this.rowLine = this.line;
      }
      if (char === ",") {
        this.fields.push(this.field);
        this.field = "";
        this.state = "start";
      } else if (char === "\n" || char === "\r") {
        this.fields.push(this.field);
        rows.push({ line: this.rowLine, fields: this.fields });
        this.field = "";
        this.fields = [];
        this.state = "start";
        this.rowStarted = false;
        this.line += 1;
        this.afterCarriageReturn = char === "\r";
      } else if (char === '"' && this.state === "start") {
        this.state = "quoted";
        this.quoteLine = this.line;
        this.quotedCarriageReturn = false;
      } else {
        this.field += char;
        this.state = "unquoted";
      }
    }
    return rows;
  }

  end(): CsvRow[] {
    if (this.state === "quoted") throw new CsvSyntaxError(this.quoteLine, "a quoted field is never closed");
    if (!this.rowStarted) return [];
    this.fields.push(this.field);
    const row = { line: this.rowLine, fields: this.fields };
    this.fields = [];
    this.field = "";
    this.rowStarted = false;
    this.state = "start";
    return [row];
  }
}

/** Parses a whole CSV text: for tests and small inputs. */
export function parseCsv(text: string): CsvRow[] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}

function isBlankRow(row: CsvRow): boolean {
  return row.fields.every((field) => field.trim() === "");
}

interface RawRecord {
  /** 1-based among data records; 0 for a CSV header. */
  number: number;
  line: number;
  fields?: string[];
  text?: string;
}

/** The file's records in order, blank lines and rows skipped; for CSV the first is the header (number 0). */
async function* rawRecords(
  filePath: string,
  format: ImportFormat,
  onBytes?: (bytes: Buffer) => void,
): AsyncGenerator<RawRecord> {
  let number = format === "csv" ? -1 : 0;
  if (format === "csv") {
    const parser = new CsvParser();
    try {
      for await (const chunk of textChunks(filePath, onBytes)) {
        for (const row of parser.push(chunk)) {
          if (isBlankRow(row)) continue;
          number += 1;
          yield { number, line: row.line, fields: row.fields };
        }
      }
      for (const row of parser.end()) {
        if (isBlankRow(row)) continue;
        number += 1;
        yield { number, line: row.line, fields: row.fields };
      }
    } catch (error) {
      if (error instanceof CsvSyntaxError) throw new ImportUsageError(`${basename(filePath)} ${error.message}`);
      throw error;
    }
    return;
  }
  let rest = "";
  let line = 0;
  const lineOf = function* (text: string): Generator<RawRecord> {
    line += 1;
    if (text.trim() === "") return;
    number += 1;
    yield { number, line, text };
  };
  for await (const chunk of textChunks(filePath, onBytes)) {
    rest += chunk;
    let start = 0;
    for (let end = rest.indexOf("\n"); end !== -1; end = rest.indexOf("\n", start)) {
      yield* lineOf(rest.slice(start, end));
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  if (rest.length > 0) yield* lineOf(rest);
}

// ---------------------------------------------------------------------------------------------
// The CSV format

const csvColumns = [
  "order_id",
  "occurred_at",
  "total",
  "currency",
  "subtotal",
  "email",
  "phone",
  "customer_id",
  "shopify_customer_id",
  "woocommerce_customer_id",
  "channel",
  "country",
  "order_number",
] as const;
type CsvColumn = (typeof csvColumns)[number];
const requiredCsvColumns: CsvColumn[] = ["order_id", "occurred_at", "total"];
const customerColumns: Array<[CsvColumn, keyof NonNullable<EventBody["member"]>]> = [
  ["email", "email"],
  ["phone", "phone"],
  ["customer_id", "external_id"],
  ["shopify_customer_id", "shopify_id"],
  ["woocommerce_customer_id", "woocommerce_id"],
];

/** Where a field of the event body built from a CSV row came from. */
const columnOfBodyPointer: Record<string, CsvColumn> = {
  "/external_id": "order_id",
  "/occurred_at": "occurred_at",
  "/order/id": "order_id",
  "/order/number": "order_number",
  "/order/currency": "currency",
  "/order/total": "total",
  "/order/subtotal": "subtotal",
  "/order/channel": "channel",
  "/order/country": "country",
  "/member/email": "email",
  "/member/phone": "phone",
  "/member/external_id": "customer_id",
  "/member/shopify_id": "shopify_customer_id",
  "/member/woocommerce_id": "woocommerce_customer_id",
};

function csvPointer(bodyPointer: string): string {
  const column = columnOfBodyPointer[bodyPointer];
  if (column) return `/${column}`;
  // The service's own pointers for the whole member or order (e.g. "/member" needs an identifier).
  return bodyPointer === "/member" || bodyPointer === "/order" ? "" : bodyPointer;
}

type CsvHeader = Map<CsvColumn, number>;

function readCsvHeader(fileName: string, fields: string[]): CsvHeader {
  const header: CsvHeader = new Map();
  const unknown: string[] = [];
  for (const [index, raw] of fields.entries()) {
    const name = raw.trim().toLowerCase();
    if (name === "") throw new ImportUsageError(`${fileName}: column ${index + 1} of the header row has no name`);
    if (!(csvColumns as readonly string[]).includes(name)) {
      unknown.push(raw.trim());
      continue;
    }
    if (header.has(name as CsvColumn)) throw new ImportUsageError(`${fileName}: the header names ${name} twice`);
    header.set(name as CsvColumn, index);
  }
  if (unknown.length > 0) {
    throw new ImportUsageError(
      `${fileName}: unknown column${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; the columns are ${csvColumns.join(", ")}`,
    );
  }
  const missing = requiredCsvColumns.filter((column) => !header.has(column));
  if (missing.length > 0) {
    throw new ImportUsageError(`${fileName}: the header row lacks the required column(s) ${missing.join(", ")}`);
  }
  return header;
}

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;

type Prepared = { number: number; body: EventBody; error?: undefined } | { number: number; error: ImportRecordError };

function refused(number: number, pointer: string, message: string): Prepared {
  return { number, error: { record: number, pointer, message } };
}

/** One error for several field errors: the first one's pointer, every message. */
function combined(number: number, errors: FieldError[]): Prepared {
  const [first, ...others] = errors;
  const message = [first?.message ?? "is not valid", ...others.map((error) => `${error.pointer} ${error.message}`)];
  return refused(number, first?.pointer ?? "", message.join("; "));
}

function csvAmount(
  number: number,
  column: CsvColumn,
  text: string,
  currency: string,
): { amount: number } | { error: Prepared } {
  try {
    const amount = parseDecimalAmount(text, currency);
    if (amount < 0) return { error: refused(number, `/${column}`, `must not be negative, got ${text}`) };
    return { amount };
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { error: refused(number, `/${column}`, error.message) };
  }
}

function prepareCsvRow(
  record: RawRecord,
  header: CsvHeader,
  shop: Shop,
  validate: ValidateFunction,
  headerLength: number,
): Prepared {
  const { number } = record;
  const fields = record.fields ?? [];
  if (fields.length > headerLength && fields.slice(headerLength).some((field) => field.trim() !== "")) {
    return refused(number, "", `has ${fields.length} fields; the header has ${headerLength}`);
  }
  const get = (column: CsvColumn): string => {
    const index = header.get(column);
    return index === undefined ? "" : (fields[index] ?? "").trim();
  };
  for (const column of requiredCsvColumns) {
    if (get(column) === "") return refused(number, `/${column}`, "is required");
  }
  const currency = (get("currency") || shop.baseCurrency).toUpperCase();
  if (!isCurrencyCode(currency)) {
    return refused(number, "/currency", `${JSON.stringify(get("currency"))} is not an ISO 4217 currency code`);
  }
  const total = csvAmount(number, "total", get("total"), currency);
  if ("error" in total) return total.error;
  let subtotal: number | undefined;
  if (get("subtotal") !== "") {
    const parsed = csvAmount(number, "subtotal", get("subtotal"), currency);
    if ("error" in parsed) return parsed.error;
    subtotal = parsed.amount;
  }
  const member: NonNullable<EventBody["member"]> = {};
  for (const [column, field] of customerColumns) {
    const value = get(column);
    if (value !== "") member[field] = value;
  }
  if (Object.keys(member).length === 0) {
    return refused(
      number,
      "",
      `names no customer: fill at least one of ${customerColumns.map(([column]) => column).join(", ")}`,
    );
  }
  const occurred = get("occurred_at");
  const orderId = get("order_id");
  const order: NonNullable<EventBody["order"]> = { id: orderId, currency, total: total.amount };
  if (subtotal !== undefined) order.subtotal = subtotal;
  if (get("order_number") !== "") order.number = get("order_number");
  if (get("channel") !== "") order.channel = get("channel");
  if (get("country") !== "") order.country = get("country").toUpperCase();
  const body: EventBody = {
    type: "order.paid",
    external_id: `order:${orderId}:paid`,
    occurred_at: dateOnly.test(occurred) ? `${occurred}T00:00:00.000Z` : occurred,
    member,
    order,
  };
  if (!validate(body)) {
    const errors = toFieldErrors(validate.errors ?? [], "body").map((error) => {
      const pointer = csvPointer(error.pointer.replace(/^\/body/, ""));
      const message =
        pointer === "/occurred_at"
          ? `must be an ISO 8601 date-time with a time zone (2026-03-01T12:00:00Z) or a date (2026-03-01), got ${JSON.stringify(occurred)}`
          : error.message;
      return { pointer, message };
    });
    return combined(number, errors);
  }
  return { number, body };
}

// ---------------------------------------------------------------------------------------------
// The JSON Lines format

/**
 * The external id a record without one gets, so that importing it again (or an overlapping file)
 * finds the event already stored. Refunds without an id are numbered per order in file order.
 */
function derivedExternalId(body: EventBody, refundsSeen: Map<string, number>): string | undefined {
  const orderId = body.order?.id;
  if (body.type === "order.paid" && orderId !== undefined) return `order:${orderId}:paid`;
  if (body.type === "order.cancelled" && orderId !== undefined) return `order:${orderId}:cancelled`;
  if (body.type === "order.refunded") {
    if (body.refund?.id) return `refund:${body.refund.id}`;
    if (orderId !== undefined) return `refund:${orderId}:${refundsSeen.get(orderId) ?? 1}`;
  }
  return undefined;
}

function prepareJsonLine(record: RawRecord, validate: ValidateFunction, refundsSeen: Map<string, number>): Prepared {
  const { number } = record;
  let value: unknown;
  try {
    value = JSON.parse(record.text ?? "");
  } catch (error) {
    return refused(number, "", `is not valid JSON: ${(error as Error).message}`);
  }
  if (!validate(value)) {
    const errors = toFieldErrors(validate.errors ?? [], "body").map((error) => ({
      pointer: error.pointer.replace(/^\/body/, ""),
      message: error.message,
    }));
    return combined(number, errors);
  }
  const body = value as EventBody;
  if (body.type === "order.refunded" && body.order !== undefined) {
    refundsSeen.set(body.order.id, (refundsSeen.get(body.order.id) ?? 0) + 1);
  }
  if (body.external_id === undefined) {
    const derived = derivedExternalId(body, refundsSeen);
    if (derived !== undefined) body.external_id = derived;
  }
  return { number, body };
}

/** The project's request-body validator (no coercion, unknown fields refused), for one event body. */
function eventBodyValidator(): ValidateFunction {
  return validatorCompiler({
    schema: EventBody,
    method: "POST",
    url: "/v1/events",
    httpPart: "body",
  }) as ValidateFunction;
}

// ---------------------------------------------------------------------------------------------
// The first pass

/**
 * The cheap first pass: checks that the file exists and has a known extension (and for CSV a valid
 * header and syntax), and counts its records while hashing it. Throws ImportUsageError.
 */
export async function inspectImportFile(filePath: string): Promise<InspectedFile> {
  const name = basename(filePath);
  const format = formatOf(filePath);
  if (format === undefined) {
    throw new ImportUsageError(`${name}: unsupported file type; import a .csv, .jsonl or .ndjson file`);
  }
  let size: number;
  try {
    const info = await stat(filePath);
    if (!info.isFile()) throw new ImportUsageError(`${filePath} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ImportUsageError) throw error;
    const code = (error as { code?: string }).code;
    throw new ImportUsageError(
      code === "ENOENT" ? `${filePath}: no such file` : `${filePath}: ${(error as Error).message}`,
    );
  }
  const hash = createHash("sha256");
  let records = 0;
  let hasHeader = false;
  try {
    for await (const record of rawRecords(filePath, format, (bytes) => hash.update(bytes))) {
      if (record.number === 0) {
        readCsvHeader(name, record.fields ?? []);
        hasHeader = true;
      } else {
        records += 1;
      }
    }
  } catch (error) {
    if (error instanceof ImportUsageError) throw error;
    throw new ImportUsageError(`${filePath}: ${(error as Error).message}`);
  }
  // A header alone is an import of nothing; a CSV without even a header is not a file of orders.
  if (format === "csv" && !hasHeader)
    throw new ImportUsageError(`${name}: the file is empty; a CSV needs a header row`);
  return { path: filePath, name, format, sha256: hash.digest("hex"), bytes: size, records };
}

// ---------------------------------------------------------------------------------------------
// The import

async function findRun(database: DatabaseHandle, shopId: string, sha256: string) {
  return database.db
    .selectFrom("import_runs")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("kind", "=", "orders")
    .where("file_sha256", "=", sha256)
    .executeTakeFirst();
}

/** The run of this file, created when the file was never imported into the shop. */
async function findOrCreateRun(
  database: DatabaseHandle,
  shop: Shop,
  file: InspectedFile,
  now: Date,
): Promise<ImportRunsTable> {
  const existing = await findRun(database, shop.id, file.sha256);
  if (existing) return existing;
  const timestamp = now.toISOString();
  const run: ImportRunsTable = {
    shop_id: shop.id,
    id: newId("importRun", now),
    kind: "orders",
    file_name: file.name,
    file_sha256: file.sha256,
    status: "running",
    records_done: 0,
    events_created: 0,
    duplicates: 0,
    failed: 0,
    errors: "[]",
    started_at: timestamp,
    updated_at: timestamp,
    finished_at: null,
  };
  try {
    await withTransaction(database, (trx) => trx.insertInto("import_runs").values(run).execute());
    return run;
  } catch (error) {
    // Another process started the same file at the same moment: share its run.
    if (!isUniqueViolation(error)) throw error;
    const raced = await findRun(database, shop.id, file.sha256);
    if (!raced) throw error;
    return raced;
  }
}

/**
 * Locks the run's row for this transaction, provided nobody advanced it since this process last
 * wrote it: two processes importing the same file would otherwise both ingest the same records.
 */
async function lockRun(trx: Tx, run: ImportRunsTable, now: Date): Promise<void> {
  const locked = await trx
    .updateTable("import_runs")
    .set({ updated_at: now.toISOString() })
    .where("shop_id", "=", run.shop_id)
    .where("id", "=", run.id)
    .where("records_done", "=", run.records_done)
    .where("status", "=", "running")
    .returning("id")
    .executeTakeFirst();
  if (!locked) {
    throw new ImportAbortedError(
      `Import run ${run.id} was advanced by another process while this one ran; run the command again to see where it stands`,
      run.records_done,
    );
  }
}

function describeFailure(error: AppError, format: ImportFormat): { pointer: string; message: string } {
  const pointer = error.errors?.[0]?.pointer ?? "";
  return { pointer: format === "csv" ? csvPointer(pointer) : pointer, message: error.message };
}

function summaryOf(
  run: ImportRunsTable,
  file: InspectedFile,
  extra: { alreadyImported: boolean; resumedFrom: number; elapsedMs: number },
): ImportSummary {
  const handled = extra.alreadyImported ? 0 : run.records_done - extra.resumedFrom;
  return {
    runId: run.id,
    shopId: run.shop_id,
    fileName: run.file_name,
    fileSha256: run.file_sha256,
    format: file.format,
    alreadyImported: extra.alreadyImported,
    records: run.records_done,
    resumedFrom: extra.resumedFrom,
    eventsCreated: run.events_created,
    duplicates: run.duplicates,
    failed: run.failed,
    errors: JSON.parse(run.errors) as ImportRecordError[],
    startedAt: run.started_at,
    finishedAt: run.finished_at ?? run.updated_at,
    elapsedMs: Math.round(extra.elapsedMs),
    recordsPerSecond: extra.elapsedMs > 0 ? Math.round((handled * 1000) / extra.elapsedMs) : 0,
  };
}

function progressOf(run: ImportRunsTable, total: number, resumedFrom: number, batches: number): ImportProgress {
  return {
    runId: run.id,
    total,
    recordsDone: run.records_done,
    resumedFrom,
    eventsCreated: run.events_created,
    duplicates: run.duplicates,
    failed: run.failed,
    batches,
  };
}

/**
 * Imports a CSV of paid orders or a JSON Lines file of event bodies into a shop (see
 * docs/importing.md). Each batch of records is ingested in one transaction that also advances the
 * run's checkpoint; a refused record is counted as failed and the import goes on; a database error
 * stops it with ImportAbortedError. Running a file again resumes its run, or reports it finished.
 */
export async function importOrders(
  database: DatabaseHandle,
  options: ImportOptions,
  clock: Clock,
): Promise<ImportSummary> {
  const started = performance.now();
  const source = options.source ?? defaultImportSource;
  if (!sourcePattern.test(source)) {
    throw new ImportUsageError(`source ${JSON.stringify(source)} must match ${sourcePattern.source}`);
  }
  const batchSize = options.batchSize ?? defaultBatchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > maxBatchSize) {
    throw new ImportUsageError(`batch size must be a whole number from 1 to ${maxBatchSize}`);
  }
  const file =
    options.inspected?.path === options.filePath ? options.inspected : await inspectImportFile(options.filePath);
  const shop = await getShop(database.db, options.shopId);
  let run = await findOrCreateRun(database, shop, file, clock.now());
  const resumedFrom = run.records_done;
  if (run.status === "finished") {
    return summaryOf(run, file, { alreadyImported: true, resumedFrom, elapsedMs: performance.now() - started });
  }
  const actor: Actor = options.actor ?? { type: "admin", id: `import:${run.id}` };
  const errors = JSON.parse(run.errors) as ImportRecordError[];
  let batches = 0;
  options.onStart?.(progressOf(run, file.records, resumedFrom, batches));

  const commit = async (batch: Prepared[]): Promise<void> => {
    const now = clock.now();
    const last = batch[batch.length - 1] as Prepared;
    let counts = { created: 0, duplicates: 0, failed: 0 };
    const fail = (error: ImportRecordError) => {
      counts.failed += 1;
      if (errors.length < maxKeptErrors) errors.push(error);
    };
    const keptBefore = errors.length;
    // First without a savepoint per event (they cost as much as the event's writes); if an event
    // fails after writing, the batch's transaction is rolled back and run again with savepoints.
    const attempt = (isolation: "none" | "savepoints") =>
      withTransaction(database, async (trx) => {
        counts = { created: 0, duplicates: 0, failed: 0 };
        errors.length = keptBefore;
        await lockRun(trx, run, now);
        const session = new IngestSession(shop.id, isolation);
        const ingestAll = async () => {
          for (const record of batch) {
            if (record.error) {
              fail(record.error);
              continue;
            }
            try {
              const result = await ingestInTransaction(
                trx,
                session,
                record.body,
                { defaultSource: source, actor, pointer: "" },
                now,
              );
              if (result.duplicate) counts.duplicates += 1;
              else counts.created += 1;
            } catch (error) {
              if (needsIsolation(error)) throw error;
              if (!isAppError(error)) {
                throw new ImportAbortedError(
                  `Import stopped at record ${record.number} by a database error: ${(error as Error).message ?? String(error)}. Records 1-${run.records_done} are imported; run the same command again to resume.`,
                  run.records_done,
                  { cause: error },
                );
              }
              fail({ record: record.number, ...describeFailure(error, file.format) });
            }
          }
        };
        // Without savepoints, rows nothing reads back wait in a buffer and go in as multi-row inserts.
        if (isolation === "none") await buffered(trx, ingestAll);
        else await ingestAll();
        const next: ImportRunsTable = {
          ...run,
          records_done: last.number,
          events_created: run.events_created + counts.created,
          duplicates: run.duplicates + counts.duplicates,
          failed: run.failed + counts.failed,
          errors: JSON.stringify(errors),
          updated_at: now.toISOString(),
        };
        await trx
          .updateTable("import_runs")
          .set({
            records_done: next.records_done,
            events_created: next.events_created,
            duplicates: next.duplicates,
            failed: next.failed,
            errors: next.errors,
            updated_at: next.updated_at,
          })
          .where("shop_id", "=", run.shop_id)
          .where("id", "=", run.id)
          .execute();
        return next;
      });
    try {
      try {
        run = await attempt("none");
      } catch (error) {
        if (!needsIsolation(error)) throw error;
        run = await attempt("savepoints");
      }
    } catch (error) {
      errors.length = keptBefore;
      if (error instanceof ImportAbortedError) throw error;
      throw new ImportAbortedError(
        `Import stopped by a database error: ${(error as Error).message ?? String(error)}. Records 1-${run.records_done} are imported; run the same command again to resume.`,
        run.records_done,
        { cause: error },
      );
    }
    batches += 1;
    await options.onProgress?.(progressOf(run, file.records, resumedFrom, batches));
  };

  const validate = eventBodyValidator();
  const refundsSeen = new Map<string, number>();
  let header: CsvHeader | undefined;
  let headerLength = 0;
  let batch: Prepared[] = [];
  for await (const record of rawRecords(file.path, file.format)) {
    if (record.number === 0) {
      header = readCsvHeader(file.name, record.fields ?? []);
      headerLength = record.fields?.length ?? 0;
      continue;
    }
    // JSON Lines records before the checkpoint are still read: refunds without an id are numbered by them.
    if (record.number <= run.records_done && file.format === "csv") continue;
    const prepared =
      file.format === "csv"
        ? prepareCsvRow(record, header as CsvHeader, shop, validate, headerLength)
        : prepareJsonLine(record, validate, refundsSeen);
    if (record.number <= run.records_done) continue;
    batch.push(prepared);
    if (batch.length >= batchSize) {
      await commit(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await commit(batch);

  const now = clock.now();
  const finished = await withTransaction(database, async (trx) => {
    await lockRun(trx, run, now);
    const timestamp = now.toISOString();
    await trx
      .updateTable("import_runs")
      .set({ status: "finished", finished_at: timestamp, updated_at: timestamp })
      .where("shop_id", "=", run.shop_id)
      .where("id", "=", run.id)
      .execute();
    return { ...run, status: "finished" as const, finished_at: timestamp, updated_at: timestamp };
  });
  return summaryOf(finished, file, { alreadyImported: false, resumedFrom, elapsedMs: performance.now() - started });
}
