import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createShop, describeEachDialect, type TestShop, useTestApp } from "../../../test/support/app.js";
import { type LaurelRun, runLaurel } from "../../../test/support/cli.js";
import { createTestDatabaseUrl, type TestDatabaseUrl } from "../../../test/support/dialects.js";
import { ManualClock } from "../../platform/clock.js";
import { type DatabaseHandle, openDatabase } from "../../platform/db/database.js";
import { migrateToLatest } from "../../platform/db/migrate.js";
import { withTransaction } from "../../platform/db/transaction.js";
import { isAppError } from "../../platform/errors.js";
import { verifyLedger } from "../ledger/index.js";
import { createRule, type RuleDraft } from "../rules/service.js";
import { createShopWithKeys } from "../shops/index.js";
import {
  CsvParser,
  ImportAbortedError,
  type ImportProgress,
  ImportUsageError,
  importOrders,
  inspectImportFile,
  parseCsv,
} from "./import.js";
import { ingestEvent } from "./service.js";

const tenPerDollar: RuleDraft & { event_type: string } = {
  name: "10 points per $1",
  event_type: "order.paid",
  reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" } },
  expiry_months: null,
};

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), "laurel-import-"));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

let fileCounter = 0;
/** Writes `text` to a new file with this extension in the test's temp directory. */
function writeImportFile(extension: string, text: string): string {
  fileCounter += 1;
  const path = join(directory, `file-${fileCounter}${extension}`);
  writeFileSync(path, text);
  return path;
}

describe("CSV parsing", () => {
  const text = [
    "Order_ID,total,EMAIL,order_number\r\n",
    '1,"19.99","a@example.com","#1, ""the first"""\r\n',
    "\r\n",
    '2,5.00,b@example.com,"two\r\nlines"\r\n',
    '3,1.00,c@example.com,ab"c\n',
    "4,,,\r",
    '5,"",x@example.com,"last"',
  ].join("");
  const expected = [
    { line: 1, fields: ["Order_ID", "total", "EMAIL", "order_number"] },
    { line: 2, fields: ["1", "19.99", "a@example.com", '#1, "the first"'] },
    { line: 3, fields: [""] },
    { line: 4, fields: ["2", "5.00", "b@example.com", "two\r\nlines"] },
    { line: 6, fields: ["3", "1.00", "c@example.com", 'ab"c'] },
    { line: 7, fields: ["4", "", "", ""] },
    { line: 8, fields: ["5", "", "x@example.com", "last"] },
  ];

  it("reads quoted commas, doubled quotes, line breaks in quotes, CRLF, LF and CR", () => {
    expect(parseCsv(text)).toEqual(expected);
  });

  it("gives the same rows wherever the text is cut into chunks", () => {
    for (let cut = 0; cut <= text.length; cut++) {
      for (const second of [cut + 1, cut + 7]) {
        const parser = new CsvParser();
        const rows = [
          ...parser.push(text.slice(0, cut)),
          ...parser.push(text.slice(cut, second)),
          ...parser.push(text.slice(second)),
          ...parser.end(),
        ];
        expect(rows, `cut at ${cut} and ${second}`).toEqual(expected);
      }
    }
  });

  it("refuses a quote left open and text after a closing quote, naming the line", () => {
    expect(() => parseCsv('a,b\n1,"open\n2,3\n')).toThrow(/^line 2: a quoted field is never closed$/);
    expect(() => parseCsv('a,b\n1,2\n"x"y,3\n')).toThrow(/^line 3: unexpected "y" after a closing quote$/);
  });
});

describe("checking the file before an import", () => {
  async function usageError(extension: string, text: string | null): Promise<string> {
    const path = text === null ? join(directory, `missing${extension}`) : writeImportFile(extension, text);
    try {
      await inspectImportFile(path);
    } catch (error) {
      expect(error).toBeInstanceOf(ImportUsageError);
      return (error as Error).message;
    }
    throw new Error("inspectImportFile accepted the file");
  }

  it("counts records and hashes the file; equal content gives equal hashes", async () => {
    const csv =
      "order_id,occurred_at,total,email\n1,2026-01-01,1.00,a@example.com\n\n2,2026-01-02,2.00,b@example.com\n";
    const first = await inspectImportFile(writeImportFile(".csv", csv));
    const second = await inspectImportFile(writeImportFile(".csv", csv));
    expect(first).toMatchObject({ format: "csv", records: 2, bytes: Buffer.byteLength(csv) });
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
    const other = await inspectImportFile(writeImportFile(".csv", `${csv}3,2026-01-03,3.00,c@example.com\n`));
    expect(other.sha256).not.toBe(first.sha256);
    const lines = await inspectImportFile(writeImportFile(".ndjson", '{"type":"x"}\n\n   \n{"type":"y"}'));
    expect(lines).toMatchObject({ format: "jsonl", records: 2 });
  });

  it("refuses a missing file, an unknown extension, a bad header and broken CSV", async () => {
    expect(await usageError(".csv", null)).toMatch(/missing\.csv: no such file$/);
    expect(await usageError(".json", "[]")).toMatch(/unsupported file type; import a \.csv, \.jsonl or \.ndjson file/);
    expect(await usageError(".csv", "")).toMatch(/the file is empty; a CSV needs a header row/);
    expect(await usageError(".csv", "order_id,total,email\n1,2.00,a@example.com\n")).toMatch(
      /lacks the required column\(s\) occurred_at/,
    );
    expect(await usageError(".csv", "order_id,occurred_at,total,emial\n")).toMatch(
      /unknown column emial; the columns are/,
    );
    expect(await usageError(".csv", "order_id,occurred_at,total,Total\n")).toMatch(/names total twice/);
    expect(await usageError(".csv", 'order_id,occurred_at,total\n1,2026-01-01,"1.00\n')).toMatch(
      /line 2: a quoted field is never closed/,
    );
  });
});

describeEachDialect("importing orders", (dialect) => {
  const t = useTestApp(dialect);

  async function setUp(draft: RuleDraft & { event_type: string } = tenPerDollar): Promise<TestShop> {
    const shop = await createShop(t());
    await withTransaction(t().database, (trx) =>
      createRule(trx, { shopId: shop.shop.id, currency: "USD", draft }, t().clock.now()),
    );
    return shop;
  }

  function run(
    shop: TestShop,
    filePath: string,
    options: {
      source?: string;
      batchSize?: number;
      onProgress?: (progress: ImportProgress) => void;
      clock?: ManualClock;
    } = {},
  ) {
    const { clock, ...rest } = options;
    return importOrders(t().database, { shopId: shop.shop.id, filePath, ...rest }, clock ?? t().clock);
  }

  /** Available and pending points of the member with this email; null when there is no such member. */
  async function pointsOf(shop: TestShop, email: string) {
    const db = t().database.db;
    const identifier = await db
      .selectFrom("member_identifiers")
      .select("member_id")
      .where("shop_id", "=", shop.shop.id)
      .where("kind", "=", "email")
      .where("value", "=", email)
      .executeTakeFirst();
    if (!identifier) return null;
    const account = await db
      .selectFrom("point_accounts")
      .select(["available", "pending"])
      .where("shop_id", "=", shop.shop.id)
      .where("member_id", "=", identifier.member_id)
      .executeTakeFirst();
    return account ?? { available: 0, pending: 0 };
  }

  async function eventsOf(shop: TestShop) {
    return t()
      .database.db.selectFrom("events")
      .select([
        "source",
        "external_id",
        "type",
        "order_id",
        "status",
        "points",
        "occurred_at",
        "payload",
        "explanation",
      ])
      .where("shop_id", "=", shop.shop.id)
      .orderBy("id")
      .execute();
  }

  async function runsOf(shop: TestShop) {
    return t().database.db.selectFrom("import_runs").selectAll().where("shop_id", "=", shop.shop.id).execute();
  }

  async function expectCleanLedger(shop: TestShop) {
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  }

  it("imports a CSV of paid orders with exact points per member, quoted fields and CRLF", async () => {
    const shop = await setUp();
    const file = writeImportFile(
      ".csv",
      [
        "Total,ORDER_ID,occurred_at,Subtotal,Email,order_number,channel,country,currency",
        '19.99,A-1,2026-02-01,,ana@example.com,"#1,001",web,us,',
        '"1,000.00",A-2,2026-02-02,,ana@example.com,,,,',
        '0.29,A-3,2026-02-03T10:30:00+02:00,,Ana@Example.com,"say ""hi""",pos,,usd',
        '250.00,A-4,2026-02-04,200.05,bo@example.com,"two\r\nlines",,,',
        "1000.01,A-5,2026-02-05,,cy@example.com,,,,",
      ].join("\r\n"),
    );
    const summary = await run(shop, file);
    expect(summary).toMatchObject({
      alreadyImported: false,
      format: "csv",
      records: 5,
      resumedFrom: 0,
      eventsCreated: 4,
      duplicates: 0,
      failed: 1,
      errors: [{ record: 2, pointer: "/total", message: 'must be a decimal amount such as "19.99", got "1,000.00"' }],
    });
    // 10 points per $1 of the subtotal (the total when there is none), rounded down.
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 199 + 2, pending: 0 });
    expect(await pointsOf(shop, "bo@example.com")).toEqual({ available: 2000, pending: 0 });
    expect(await pointsOf(shop, "cy@example.com")).toEqual({ available: 10000, pending: 0 });

    const events = await eventsOf(shop);
    expect(events.map((event) => [event.source, event.external_id, event.type, event.status, event.points])).toEqual([
      ["import", "order:A-1:paid", "order.paid", "processed", 199],
      ["import", "order:A-3:paid", "order.paid", "processed", 2],
      ["import", "order:A-4:paid", "order.paid", "processed", 2000],
      ["import", "order:A-5:paid", "order.paid", "processed", 10000],
    ]);
    // A date alone is midnight UTC; a date-time with an offset is converted to UTC.
    expect(events.map((event) => event.occurred_at)).toEqual([
      "2026-02-01T00:00:00.000Z",
      "2026-02-03T08:30:00.000Z",
      "2026-02-04T00:00:00.000Z",
      "2026-02-05T00:00:00.000Z",
    ]);
    expect(JSON.parse(events[0]?.payload ?? "{}")).toEqual({
      type: "order.paid",
      external_id: "order:A-1:paid",
      occurred_at: "2026-02-01T00:00:00.000Z",
      member: { email: "ana@example.com" },
      order: { id: "A-1", currency: "USD", total: 1999, number: "#1,001", channel: "web", country: "US" },
    });
    expect(JSON.parse(events[1]?.payload ?? "{}").order.number).toBe('say "hi"');
    expect(JSON.parse(events[2]?.payload ?? "{}").order).toMatchObject({
      total: 25000,
      subtotal: 20005,
      number: "two\r\nlines",
    });

    const [importRun] = await runsOf(shop);
    expect(importRun).toMatchObject({
      id: summary.runId,
      kind: "orders",
      file_name: basename(file),
      file_sha256: summary.fileSha256,
      status: "finished",
      records_done: 5,
      events_created: 4,
      duplicates: 0,
      failed: 1,
      finished_at: t().clock.now().toISOString(),
    });
    expect(JSON.parse(importRun?.errors ?? "[]")).toEqual(summary.errors);
    await expectCleanLedger(shop);
  });

  it("imports JSON Lines events, deriving external ids so that refunds and cancellations line up", async () => {
    const shop = await setUp();
    const order = (id: string, total: number, email: string, extra: object = {}) => ({
      type: "order.paid",
      occurred_at: "2026-02-10T09:00:00Z",
      member: { email },
      order: { id, currency: "USD", total },
      ...extra,
    });
    const file = writeImportFile(
      ".jsonl",
      [
        JSON.stringify(order("J-1", 10000, "ana@example.com")),
        "",
        JSON.stringify(order("J-2", 5000, "bo@example.com", { external_id: "mine-2", source: "legacy" })),
        "{not json",
        JSON.stringify({
          type: "order.refunded",
          occurred_at: "2026-02-11T09:00:00Z",
          order: { id: "J-1" },
          refund: { amount: 2500, currency: "USD" },
        }),
        JSON.stringify({
          type: "order.refunded",
          occurred_at: "2026-02-12T09:00:00Z",
          order: { id: "J-1" },
          refund: { amount: 2500, currency: "USD" },
        }),
        JSON.stringify(order("J-3", 3000, "cy@example.com")),
        JSON.stringify({ type: "order.cancelled", occurred_at: "2026-02-13T09:00:00Z", order: { id: "J-3" } }),
        JSON.stringify({ ...order("J-4", 100, "dee@example.com"), order: { id: "J-4", total: "1.00" }, extra: 1 }),
        "   ",
      ].join("\n"),
    );
    const summary = await run(shop, file);
    expect(summary).toMatchObject({ records: 8, eventsCreated: 6, duplicates: 0, failed: 2 });
    expect(summary.errors).toEqual([
      { record: 3, pointer: "", message: expect.stringMatching(/^is not valid JSON: /) },
      { record: 8, pointer: "/extra", message: "is not a known field; /order/total must be integer" },
    ]);
    const events = await eventsOf(shop);
    expect(events.map((event) => [event.source, event.external_id, event.type, event.points])).toEqual([
      ["import", "order:J-1:paid", "order.paid", 1000],
      ["legacy", "mine-2", "order.paid", 500],
      ["import", "refund:J-1:1", "order.refunded", -250],
      ["import", "refund:J-1:2", "order.refunded", -250],
      ["import", "order:J-3:paid", "order.paid", 300],
      ["import", "order:J-3:cancelled", "order.cancelled", -300],
    ]);
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 500, pending: 0 });
    expect(await pointsOf(shop, "bo@example.com")).toEqual({ available: 500, pending: 0 });
    expect(await pointsOf(shop, "cy@example.com")).toEqual({ available: 0, pending: 0 });
    expect(await pointsOf(shop, "dee@example.com")).toBeNull();

    // The same events in another file are the same events: nothing is taken back twice.
    const overlap = writeImportFile(
      ".ndjson",
      [
        JSON.stringify({
          type: "order.refunded",
          occurred_at: "2026-02-11T09:00:00Z",
          order: { id: "J-1" },
          refund: { amount: 2500, currency: "USD" },
        }),
        JSON.stringify(order("J-1", 10000, "ana@example.com")),
      ].join("\n"),
    );
    expect(await run(shop, overlap)).toMatchObject({ records: 2, eventsCreated: 0, duplicates: 2, failed: 0 });
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 500, pending: 0 });
    await expectCleanLedger(shop);
  });

  it("resumes an interrupted import after its last committed batch and imports every record once", async () => {
    const shop = await setUp();
    const rows = Array.from(
      { length: 7 },
      (_, index) => `R-${index + 1},2026-02-0${index + 1},${index + 1}.50,member${index % 3}@example.com`,
    );
    const file = writeImportFile(".csv", ["order_id,occurred_at,total,email", ...rows].join("\n"));
    const seen: ImportProgress[] = [];
    const interrupted = run(shop, file, {
      batchSize: 3,
      onProgress: (progress) => {
        seen.push(progress);
        throw new Error("killed after the first batch");
      },
    });
    await expect(interrupted).rejects.toThrow("killed after the first batch");
    expect(seen).toEqual([expect.objectContaining({ total: 7, recordsDone: 3, eventsCreated: 3, batches: 1 })]);
    const [stopped] = await runsOf(shop);
    expect(stopped).toMatchObject({ status: "running", records_done: 3, events_created: 3, finished_at: null });
    expect((await eventsOf(shop)).map((event) => event.order_id)).toEqual(["R-1", "R-2", "R-3"]);

    const progress: ImportProgress[] = [];
    const resumed = await run(shop, file, { batchSize: 3, onProgress: (step) => void progress.push(step) });
    expect(resumed).toMatchObject({
      runId: stopped?.id,
      alreadyImported: false,
      records: 7,
      resumedFrom: 3,
      eventsCreated: 7,
      duplicates: 0,
      failed: 0,
    });
    expect(progress.map((step) => [step.recordsDone, step.batches])).toEqual([
      [6, 1],
      [7, 2],
    ]);
    const events = await eventsOf(shop);
    expect(events.map((event) => event.order_id)).toEqual(["R-1", "R-2", "R-3", "R-4", "R-5", "R-6", "R-7"]);
    // member0, R-7 (1.50 + 4.50 + 7.50); member1; member2.
    expect(await pointsOf(shop, "member0@example.com")).toEqual({ available: 15 + 45 + 75, pending: 0 });
    expect(await pointsOf(shop, "member1@example.com")).toEqual({ available: 25 + 55, pending: 0 });
    expect(await pointsOf(shop, "member2@example.com")).toEqual({ available: 35 + 65, pending: 0 });
    await expectCleanLedger(shop);

    // A finished file is reported, not imported again.
    const before = await eventsOf(shop);
    const again = await run(shop, file, { onProgress: () => expect.unreachable("no batch runs") });
    expect(again).toMatchObject({ runId: stopped?.id, alreadyImported: true, records: 7, eventsCreated: 7 });
    expect(await eventsOf(shop)).toEqual(before);
    expect(await runsOf(shop)).toHaveLength(1);
  });

  it("stops at a database error, keeps the batches committed before it and resumes after them", async () => {
    const shop = await setUp();
    const paid = (id: string, total: number, email: string) => ({
      type: "order.paid",
      occurred_at: "2026-02-01T12:00:00Z",
      member: { email },
      order: { id, currency: "USD", total },
    });
    const refund = { type: "order.refunded", order: { id: "O-1" }, refund: { amount: 2500, currency: "USD" } };
    const file = writeImportFile(
      ".jsonl",
      [
        paid("O-1", 10000, "y@example.com"),
        paid("O-2", 10000, "y@example.com"),
        { ...refund, occurred_at: "2026-02-02T12:00:00Z" }, // refund:O-1:1, in the committed batch
        paid("boom", 10000, "x@example.com"), // refused by the trigger below
        { ...refund, occurred_at: "2026-02-03T12:00:00Z" }, // refund:O-1:2, though the first one is skipped on resume
        paid("O-6", 1000, "y@example.com"),
      ]
        .map((record) => JSON.stringify(record))
        .join("\n"),
    );
    const db = t().database.db;
    if (dialect === "sqlite") {
      await sql`create trigger import_boom before insert on events when new.order_id = 'boom' begin select raise(abort, 'boom refused by a trigger'); end`.execute(
        db,
      );
    } else {
      await sql`create function import_boom() returns trigger language plpgsql as $$ begin if new.order_id = 'boom' then raise exception 'boom refused by a trigger'; end if; return new; end $$`.execute(
        db,
      );
      await sql`create trigger import_boom before insert on events for each row execute function import_boom()`.execute(
        db,
      );
    }
    try {
      const error = await run(shop, file, { batchSize: 3 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ImportAbortedError);
      expect(error).toMatchObject({ recordsDone: 3 });
      expect((error as Error).message).toMatch(
        /^Import stopped at record 4 by a database error: .*boom refused by a trigger.*Records 1-3 are imported; run the same command again to resume\.$/,
      );
      expect((await eventsOf(shop)).map((event) => event.external_id)).toEqual([
        "order:O-1:paid",
        "order:O-2:paid",
        "refund:O-1:1",
      ]);
      expect(await runsOf(shop)).toEqual([
        expect.objectContaining({ status: "running", records_done: 3, events_created: 3 }),
      ]);
    } finally {
      await sql`drop trigger import_boom${sql.raw(dialect === "postgres" ? " on events" : "")}`.execute(db);
      if (dialect === "postgres") await sql`drop function import_boom()`.execute(db);
    }
    const resumed = await run(shop, file, { batchSize: 3 });
    expect(resumed).toMatchObject({ resumedFrom: 3, records: 6, eventsCreated: 6, duplicates: 0, failed: 0 });
    expect((await eventsOf(shop)).map((event) => [event.external_id, event.points])).toEqual([
      ["order:O-1:paid", 1000],
      ["order:O-2:paid", 1000],
      ["refund:O-1:1", -250],
      ["order:boom:paid", 1000],
      ["refund:O-1:2", -250],
      ["order:O-6:paid", 100],
    ]);
    expect(await pointsOf(shop, "y@example.com")).toEqual({ available: 1000 + 1000 - 250 - 250 + 100, pending: 0 });
    expect(await pointsOf(shop, "x@example.com")).toEqual({ available: 1000, pending: 0 });
    await expectCleanLedger(shop);
  });

  it("counts the records of an overlapping file as duplicates and never credits them twice", async () => {
    const shop = await setUp();
    const header = "order_id,occurred_at,total,email";
    const row = (id: number) => `${id},2026-02-0${id},${id}.00,ana@example.com`;
    const first = await run(shop, writeImportFile(".csv", [header, row(1), row(2), row(3)].join("\n")));
    expect(first).toMatchObject({ eventsCreated: 3, duplicates: 0 });
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 60, pending: 0 });

    const second = await run(shop, writeImportFile(".csv", [header, row(2), row(3), row(4), row(5)].join("\n")));
    expect(second).toMatchObject({ alreadyImported: false, records: 4, eventsCreated: 2, duplicates: 2, failed: 0 });
    expect(second.runId).not.toBe(first.runId);
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 150, pending: 0 });
    expect((await eventsOf(shop)).map((event) => event.order_id)).toEqual(["1", "2", "3", "4", "5"]);
    await expectCleanLedger(shop);
  });

  it("reports bad rows with their record numbers, keeps the first 100 errors and imports the rest", async () => {
    const shop = await setUp();
    const bad = [
      "B-1,2026-13-01,1.00,a@example.com,,", // record 1: no such month
      "B-2,2026-02-01T10:00:00,1.00,a@example.com,,", // record 2: no time zone
      "B-3,2026-02-01,-1.00,a@example.com,,", // record 3: negative
      "B-4,2026-02-01,1.00,,,", // record 4: no customer
      "B-5,2026-02-01,1.00,not-an-email,,", // record 5: refused by the members module
      "B-6,2026-02-01,1.00,a@example.com,XYZ,", // record 6: unknown currency
      ",2026-02-01,1.00,a@example.com,,", // record 7: no order id
      "B-8,2026-02-01,1.00,a@example.com,,extra", // record 8: more fields than the header
      "B-9,2026-02-01,1.00,a@example.com,,,,", // record 9: empty extra fields are fine
      "B-10,2099-01-01,1.00,a@example.com,,", // record 10: in the future
    ];
    const filler = Array.from({ length: 100 }, (_, index) => `F-${index},2026-02-01,oops,a@example.com,,`);
    const file = writeImportFile(
      ".csv",
      ["order_id,occurred_at,total,email,currency", ...bad, ...filler, "LAST,2026-02-02,3.00,a@example.com"].join("\n"),
    );
    const summary = await run(shop, file, { batchSize: 4 });
    expect(summary).toMatchObject({ records: 111, eventsCreated: 2, duplicates: 0, failed: 109 });
    expect(summary.errors).toHaveLength(100);
    expect(summary.errors.slice(0, 8)).toEqual([
      {
        record: 1,
        pointer: "/occurred_at",
        message: expect.stringContaining('or a date (2026-03-01), got "2026-13-01"'),
      },
      { record: 2, pointer: "/occurred_at", message: expect.stringContaining("with a time zone") },
      { record: 3, pointer: "/total", message: "must not be negative, got -1.00" },
      { record: 4, pointer: "", message: expect.stringMatching(/^names no customer: fill at least one of email, /) },
      { record: 5, pointer: "/email", message: '"not-an-email" is not an email address' },
      { record: 6, pointer: "/currency", message: '"XYZ" is not an ISO 4217 currency code' },
      { record: 7, pointer: "/order_id", message: "is required" },
      { record: 8, pointer: "", message: "has 6 fields; the header has 5" },
    ]);
    expect(summary.errors[8]).toEqual({
      record: 10,
      pointer: "/occurred_at",
      message: "must not be more than a day in the future",
    });
    expect(summary.errors[9]).toMatchObject({ record: 11, pointer: "/total" });
    expect(summary.errors[99]).toMatchObject({ record: 101 });
    expect((await eventsOf(shop)).map((event) => event.order_id)).toEqual(["B-9", "LAST"]);
    expect(await pointsOf(shop, "a@example.com")).toEqual({ available: 40, pending: 0 });
    const [importRun] = await runsOf(shop);
    expect(importRun).toMatchObject({ records_done: 111, failed: 109, status: "finished" });
    expect(JSON.parse(importRun?.errors ?? "[]")).toHaveLength(100);
  });

  it("counts expiry and pending from the order date: old points are not credited and say why", async () => {
    const shop = await setUp({ ...tenPerDollar, expiry_months: 12, pending_days: 30 });
    const clock = new ManualClock("2026-03-01T12:00:00.000Z");
    const file = writeImportFile(
      ".csv",
      [
        "order_id,occurred_at,total,email",
        "OLD,2024-06-01,10.00,ana@example.com", // expired on 2025-06-01
        "SETTLED,2026-01-01,20.00,ana@example.com", // pending until 2026-01-31: spendable now
        "RECENT,2026-02-20,30.00,ana@example.com", // pending until 2026-03-22
      ].join("\n"),
    );
    expect(await run(shop, file, { clock })).toMatchObject({ eventsCreated: 3, failed: 0 });
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 200, pending: 300 });
    const [old] = await eventsOf(shop);
    expect(old).toMatchObject({ order_id: "OLD", status: "processed", points: 0 });
    expect(JSON.parse(old?.explanation ?? "{}").ledger).toEqual([
      expect.objectContaining({
        points: 100,
        transaction_id: null,
        expires_at: "2025-06-01T00:00:00.000Z",
        note: "not credited: the points expired on 2025-06-01T00:00:00.000Z",
      }),
    ]);
    await expectCleanLedger(shop);
  });

  it("lines up with platform webhooks through --source and the platform's event ids", async () => {
    const shop = await setUp();
    // As the Shopify webhook stores an order: source "shopify", external id order:<id>:paid.
    await ingestEvent(
      t().database,
      shop.shop.id,
      {
        type: "order.paid",
        source: "shopify",
        external_id: "order:820982911946154508:paid",
        occurred_at: "2026-02-01T10:00:00Z",
        member: { shopify_id: "115310627314723954", email: "ana@example.com" },
        order: { id: "820982911946154508", currency: "USD", total: 5000 },
      },
      { defaultSource: "api", actor: { type: "system", id: null } },
      t().clock.now(),
    );
    const file = writeImportFile(
      ".csv",
      [
        "order_id,occurred_at,total,shopify_customer_id,email",
        "820982911946154508,2026-02-01,50.00,115310627314723954,ana@example.com",
        "820982911946154509,2026-02-02,20.00,115310627314723954,",
      ].join("\n"),
    );
    const asShopify = await run(shop, file, { source: "shopify" });
    expect(asShopify).toMatchObject({ eventsCreated: 1, duplicates: 1, failed: 0 });
    expect(await pointsOf(shop, "ana@example.com")).toEqual({ available: 700, pending: 0 });
    expect((await eventsOf(shop)).map((event) => [event.source, event.external_id])).toEqual([
      ["shopify", "order:820982911946154508:paid"],
      ["shopify", "order:820982911946154509:paid"],
    ]);
    await expectCleanLedger(shop);
  });

  it("refuses an unknown shop, a source that is not a source and a batch size out of range, writing nothing", async () => {
    const file = writeImportFile(".csv", "order_id,occurred_at,total,email\n1,2026-02-01,1.00,a@example.com\n");
    const missing = await importOrders(t().database, { shopId: "shop_missing", filePath: file }, t().clock).catch(
      (error: unknown) => error,
    );
    expect(isAppError(missing) && missing.code).toBe("shop_not_found");
    const shop = await setUp();
    await expect(run(shop, file, { source: "Not A Source" })).rejects.toBeInstanceOf(ImportUsageError);
    await expect(run(shop, file, { batchSize: 0 })).rejects.toBeInstanceOf(ImportUsageError);
    const runs = await t()
      .database.db.selectFrom("import_runs")
      .select("id")
      .where("file_name", "=", basename(file))
      .execute();
    expect(runs).toEqual([]);
    expect(await runsOf(shop)).toEqual([]);
  });
});

// The real command, as an operator runs it: a process per case, on SQLite.
describe("laurel import orders", () => {
  const cliTimeoutMs = 60_000;
  const databases: TestDatabaseUrl[] = [];
  afterEach(async () => {
    for (const database of databases.splice(0)) await database.drop();
  });

  async function withDatabaseAt<T>(url: string, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
    const database = openDatabase(url, { poolSize: 1 });
    try {
      await migrateToLatest(database.db);
      return await work(database);
    } finally {
      await database.close();
    }
  }

  /** A SQLite database with a shop earning 10 points per $1 that never expire. */
  async function createShopAt(): Promise<{ url: string; shopId: string }> {
    const target = await createTestDatabaseUrl("sqlite");
    databases.push(target);
    const now = new Date("2026-01-01T00:00:00.000Z");
    const shopId = await withDatabaseAt(target.url, (database) =>
      withTransaction(database, async (trx) => {
        const { shop } = await createShopWithKeys(trx, { name: "Import Shop", baseCurrency: "USD" }, now);
        await createRule(trx, { shopId: shop.id, currency: "USD", draft: tenPerDollar }, now);
        return shop.id;
      }),
    );
    return { url: target.url, shopId };
  }

  function expectSuccess(run: LaurelRun): void {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  }

  it(
    "imports a CSV, prints the summary as JSON, and reports the file as imported when run again",
    async () => {
      const { url, shopId } = await createShopAt();
      const env = { LAUREL_DATABASE_URL: url };
      const file = writeImportFile(
        ".csv",
        [
          "order_id,occurred_at,total,email",
          "C-1,2026-01-02,12.34,ana@example.com",
          'C-2,2026-01-03,"5.00",ana@example.com',
          "C-3,2026-01-04,1.00,",
        ].join("\n"),
      );
      const first = await runLaurel(["import", "orders", file, "--shop", shopId, "--batch-size", "2", "--json"], env);
      expectSuccess(first);
      expect(JSON.parse(first.stdout)).toEqual({
        object: "import_run",
        id: expect.stringMatching(/^imp_/),
        shop_id: shopId,
        kind: "orders",
        file_name: basename(file),
        file_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        format: "csv",
        status: "finished",
        already_imported: false,
        records: 3,
        resumed_from: 0,
        events_created: 2,
        duplicates: 0,
        failed: 1,
        errors: [{ record: 3, pointer: "", message: expect.stringMatching(/^names no customer/) }],
        started_at: expect.any(String),
        finished_at: expect.any(String),
        elapsed_ms: expect.any(Number),
        records_per_second: expect.any(Number),
      });
      await withDatabaseAt(url, async (database) => {
        const accounts = await database.db
          .selectFrom("point_accounts")
          .select("available")
          .where("shop_id", "=", shopId)
          .execute();
        expect(accounts).toEqual([{ available: 123 + 50 }]);
        // The ledger names the import run as who credited the points.
        const credits = await database.db
          .selectFrom("ledger_transactions")
          .select(["actor_type", "actor_id"])
          .where("shop_id", "=", shopId)
          .execute();
        expect(credits).toEqual([
          { actor_type: "admin", actor_id: `import:${JSON.parse(first.stdout).id}` },
          { actor_type: "admin", actor_id: `import:${JSON.parse(first.stdout).id}` },
        ]);
      });

      const again = await runLaurel(["import", "orders", file, "--shop", shopId], env);
      expectSuccess(again);
      expect(again.stdout).toMatch(/^Already imported: file-\d+\.csv was imported into shop_\w+ by run imp_\w+/);
      expect(again.stdout).toContain("  created     2\n");
      expect(again.stdout).toContain("  failed      1\n");
    },
    cliTimeoutMs,
  );

  it(
    "prints a summary with the first errors for people, and exits 0 although records failed",
    async () => {
      const { url, shopId } = await createShopAt();
      const file = writeImportFile(
        ".jsonl",
        `${JSON.stringify({ type: "order.paid", occurred_at: "2026-01-02T00:00:00Z", member: { email: "bo@example.com" }, order: { id: "L-1", currency: "USD", total: 999 } })}\n{"type": 5}\n`,
      );
      const run = await runLaurel(["import", "orders", file, "--shop", shopId, "--no-progress"], {
        LAUREL_DATABASE_URL: url,
      });
      expectSuccess(run);
      expect(run.stdout).toMatch(/^Imported file-\d+\.jsonl into shop_\w+ \(run imp_\w+\)\.\n/);
      expect(run.stdout).toContain("  records     2\n  created     1\n  duplicates  0\n  failed      1\n");
      expect(run.stdout).toMatch(/ {2}elapsed {5}\d+\.\d s \(\d+ records\/s\)\n/);
      expect(run.stdout).toContain("1 record(s) failed and were not imported; the others were. First errors:\n");
      expect(run.stdout).toContain("  record 2  /type: must be string\n");
    },
    cliTimeoutMs,
  );

  it(
    "exits 1 for a shop that does not exist and creates no import run",
    async () => {
      const { url } = await createShopAt();
      const file = writeImportFile(".csv", "order_id,occurred_at,total,email\n1,2026-01-02,1.00,a@example.com\n");
      const unknownShop = await runLaurel(["import", "orders", file, "--shop", "shop_missing"], {
        LAUREL_DATABASE_URL: url,
      });
      expect(unknownShop).toMatchObject({
        code: 1,
        stdout: "",
        stderr: "Error: No shop shop_missing (shop_not_found)\n",
      });
      await withDatabaseAt(url, async (database) => {
        expect(await database.db.selectFrom("import_runs").selectAll().execute()).toEqual([]);
      });
    },
    cliTimeoutMs,
  );

  // These stop before a database is opened: the one each names is never created.
  it.concurrent.each([
    ["a missing file", () => [join(directory, "absent.csv")], /^error: .*absent\.csv: no such file\n/],
    ["a wrong file type", () => [writeImportFile(".xlsx", "x")], /unsupported file type; import a \.csv, \.jsonl/],
    ["an unknown CSV column", () => [writeImportFile(".csv", "id,total\n")], /unknown column id; the columns are/],
    [
      "a batch size that is not a whole number",
      () => [writeImportFile(".csv", "order_id,occurred_at,total\n"), "--batch-size", "1.5"],
      /option '--batch-size <n>' argument '1\.5' is invalid/,
    ],
    [
      "a source that is not a source name",
      () => [writeImportFile(".csv", "order_id,occurred_at,total\n"), "--source", "Shopify!"],
      /option '--source <source>' argument 'Shopify!' is invalid/,
    ],
  ])(
    "exits 2 with the usage for %s",
    async (_, args, message) => {
      const neverCreated = join(mkdtempSync(join(directory, "never-")), "laurel.db");
      const run = await runLaurel(["import", "orders", ...args(), "--shop", "shop_any"], {
        LAUREL_DATABASE_URL: `file:${neverCreated}`,
      });
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain("Usage: laurel import orders [options] <file>");
      expect(existsSync(neverCreated)).toBe(false);
    },
    cliTimeoutMs,
  );

  it(
    "prints help for laurel import orders",
    async () => {
      const run = await runLaurel(["import", "orders", "--help"], { LAUREL_DATABASE_URL: "file:./never-created.db" });
      expectSuccess(run);
      for (const text of [
        "Usage: laurel import orders",
        "<file>",
        "--shop <id>",
        "--source",
        "--batch-size",
        "--json",
        "--no-progress",
      ]) {
        expect(run.stdout).toContain(text);
      }
    },
    cliTimeoutMs,
  );
});
