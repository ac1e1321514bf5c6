import { resolve } from "node:path";
import { SingleBar } from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import {
  defaultBatchSize,
  defaultImportSource,
  type ImportSummary,
  ImportUsageError,
  type InspectedFile,
  importOrders,
  inspectImportFile,
  maxBatchSize,
  sourcePattern,
  toImportSummaryJson,
} from "../modules/events/index.js";
import { clock, print, withDatabase } from "./context.js";

interface ImportOrdersOptions {
  shop: string;
  source: string;
  batchSize: number;
  json?: boolean;
  progress: boolean;
}

function parseBatchSize(value: string): number {
  const size = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(size) || size < 1 || size > maxBatchSize) {
    throw new InvalidArgumentError(`must be a whole number from 1 to ${maxBatchSize}.`);
  }
  return size;
}

function parseSource(value: string): string {
  if (!sourcePattern.test(value)) {
    throw new InvalidArgumentError(
      "must be lower-case letters, digits, _ or -, starting with a letter (e.g. shopify).",
    );
  }
  return value;
}

const shownErrors = 10;

function formatSeconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}

/** The summary for people: what the run did, and the first errors with their record numbers. */
export function formatImportSummary(summary: ImportSummary): string {
  const counters = [
    `  records     ${summary.records}`,
    `  created     ${summary.eventsCreated}`,
    `  duplicates  ${summary.duplicates}`,
    `  failed      ${summary.failed}`,
  ];
  if (summary.alreadyImported) {
    return [
      `Already imported: ${summary.fileName} was imported into ${summary.shopId} by run ${summary.runId}, finished ${summary.finishedAt}. Nothing to do.`,
      ...counters,
    ].join("\n");
  }
  const lines = [
    summary.resumedFrom > 0
      ? `Imported ${summary.fileName} into ${summary.shopId} (run ${summary.runId}), resuming after record ${summary.resumedFrom}.`
      : `Imported ${summary.fileName} into ${summary.shopId} (run ${summary.runId}).`,
    ...counters,
    `  elapsed     ${formatSeconds(summary.elapsedMs)} (${summary.recordsPerSecond} records/s)`,
  ];
  if (summary.failed > 0) {
    lines.push(
      `${summary.failed} record(s) failed and were not imported; the others were. First errors:`,
      ...summary.errors
        .slice(0, shownErrors)
        .map((error) => `  record ${error.record}  ${error.pointer ? `${error.pointer}: ` : ""}${error.message}`),
    );
    if (summary.failed > shownErrors) lines.push("  … (--json lists the first 100)");
    lines.push("Fix those rows and import the corrected file: records already imported count as duplicates.");
  }
  return lines.join("\n");
}

/** Registers `laurel import orders <file>`. */
export function registerImportCommand(program: Command): void {
  const importCommand = program.command("import").description("Backfill history from files (resumable, deduplicated)");

  importCommand
    .command("orders")
    .description(
      "Import past orders from a .csv file, or events from a .jsonl/.ndjson file, into a shop. " +
        "Running the same file again resumes an interrupted import or reports it done.",
    )
    .argument("<file>", "a .csv of paid orders, or a .jsonl/.ndjson file of event bodies (see docs/importing.md)")
    .requiredOption("--shop <id>", "shop id")
    .option(
      "--source <source>",
      "source of records that name none; deduplication is per source",
      parseSource,
      defaultImportSource,
    )
    .option(
      "--batch-size <n>",
      `records per database transaction (1-${maxBatchSize})`,
      parseBatchSize,
      defaultBatchSize,
    )
    .option("--json", "print the summary as JSON for scripts")
    .option("--no-progress", "no progress bar (it is shown only when stderr is a terminal)")
    .action(async (file: string, options: ImportOrdersOptions, command: Command) => {
      const filePath = resolve(file);
      let inspected: InspectedFile;
      try {
        // Before the database is opened: a wrong file is a usage error that changes nothing.
        inspected = await inspectImportFile(filePath);
      } catch (error) {
        if (error instanceof ImportUsageError) command.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
      const showBar = !options.json && options.progress && process.stderr.isTTY === true;
      const bar = new SingleBar({
        stream: process.stderr,
        format: "Importing {bar} {value}/{total} records | {rate} records/s | ETA {eta_formatted}",
        etaBuffer: 20,
      });
      let barStarted = false;
      let startedAt = 0;
      let resumedFrom = 0;
      try {
        const summary = await withDatabase((database) =>
          importOrders(
            database,
            {
              shopId: options.shop,
              filePath,
              source: options.source,
              batchSize: options.batchSize,
              inspected,
              onStart: (progress) => {
                if (!showBar) return;
                startedAt = performance.now();
                resumedFrom = progress.recordsDone;
                bar.start(progress.total, progress.recordsDone, { rate: 0 });
                barStarted = true;
              },
              onProgress: (progress) => {
                if (!barStarted) return;
                const seconds = (performance.now() - startedAt) / 1000;
                const rate = seconds > 0 ? Math.round((progress.recordsDone - resumedFrom) / seconds) : 0;
                bar.update(progress.recordsDone, { rate });
              },
            },
            clock,
          ),
        );
        if (barStarted) bar.stop();
        barStarted = false;
        print(Boolean(options.json), toImportSummaryJson(summary), () => formatImportSummary(summary));
      } finally {
        if (barStarted) bar.stop();
      }
    });
}
