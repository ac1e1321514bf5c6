import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BenchReport, type BenchRun, benchDialects, type Measurement } from "./support.js";

/**
 * `npm run bench` runs every bench/*.bench.ts (events, http, ledger, redeem, tiers); `npm run bench -- <name>` runs one (e.g. `ledger`).
 * Prints each measurement beside its baseline and the ratio, and records the results in
 * bench/results/latest.json (a bench that was not run keeps its previous entry there).
 */
const benchDirectory = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(benchDirectory, "results", "latest.json");
const suffix = ".bench.ts";

interface BenchEntry extends BenchReport {
  date: string;
  machine: MachineInfo;
  dialects: string[];
}

interface ResultsFile {
  updated_at: string;
  benches: Record<string, BenchEntry>;
}

interface MachineInfo {
  node: string;
  platform: string;
  cpus: number;
  cpu_model: string;
  memory_gib: number;
}

function machineInfo(): MachineInfo {
  const processors = cpus();
  return {
    node: process.version,
    platform: `${platform()} ${release()} ${process.arch}`,
    cpus: processors.length,
    cpu_model: processors[0]?.model.trim() ?? "unknown",
    memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  };
}

/** A bad command-line argument: printed without a stack, exit status 2. */
class UsageError extends Error {}

function selectBenches(requested: string | undefined): string[] {
  const available = readdirSync(benchDirectory)
    .filter((file) => file.endsWith(suffix))
    .map((file) => file.slice(0, -suffix.length))
    .sort();
  if (requested === undefined) return available;
  const name = requested.endsWith(suffix) ? requested.slice(0, -suffix.length) : requested;
  if (!available.includes(name)) {
    throw new UsageError(`no bench named "${requested}"; available: ${available.join(", ") || "none"}`);
  }
  return [name];
}

async function loadBench(name: string): Promise<BenchRun> {
  const module = (await import(pathToFileURL(join(benchDirectory, `${name}${suffix}`)).href)) as { run?: unknown };
  if (typeof module.run !== "function") throw new Error(`bench/${name}${suffix} does not export run()`);
  return module.run as BenchRun;
}

const integerFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function formatFigure(value: number, unit: Measurement["unit"]): string {
  return `${integerFormat.format(value)} ${unit}`;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column >= 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
        .join("   ")
        .trimEnd(),
    )
    .join("\n");
}

function describeReport(name: string, report: BenchReport): string {
  const rows = [
    ["dialect", "measurement", "Laurel", "baseline", "ratio"],
    ...report.measurements.map((item) => [
      item.dialect,
      item.name,
      formatFigure(item.laurel, item.unit),
      formatFigure(item.baseline, item.unit),
      `${Number.isFinite(item.ratio) ? item.ratio.toFixed(2) : "n/a"} (${item.better} is better)`,
    ]),
  ];
  return [
    `${name}: ${report.title}`,
    ...report.notes.map((note) => `  - ${note}`),
    "  ratio = Laurel / baseline",
    "",
    formatTable(rows)
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\n"),
    "",
  ].join("\n");
}

function rounded(item: Measurement): Measurement {
  const digits = 10;
  return {
    ...item,
    laurel: Math.round(item.laurel * digits) / digits,
    baseline: Math.round(item.baseline * digits) / digits,
    ratio: Math.round(item.ratio * 1000) / 1000,
  };
}

function readResults(): ResultsFile {
  if (!existsSync(resultsPath)) return { updated_at: "", benches: {} };
  return JSON.parse(readFileSync(resultsPath, "utf8")) as ResultsFile;
}

async function main(): Promise<void> {
  const names = selectBenches(process.argv[2]);
  const machine = machineInfo();
  const results = readResults();
  process.stdout.write(
    `Laurel benchmarks — Node ${machine.node}, ${machine.cpus} × ${machine.cpu_model}, ${machine.platform}\n` +
      `Dialects: ${benchDialects.join(", ")}${benchDialects.includes("postgres") ? "" : " (set LAUREL_BENCH_DATABASE_URL=postgres://… to add PostgreSQL)"}\n\n`,
  );
  let failures = 0;
  for (const name of names) {
    process.stderr.write(`running ${name}…\n`);
    try {
      const report = await (await loadBench(name))();
      process.stdout.write(`${describeReport(name, report)}\n`);
      results.benches[name] = {
        date: new Date().toISOString(),
        machine,
        dialects: [...new Set(report.measurements.map((item) => item.dialect))],
        title: report.title,
        notes: report.notes,
        measurements: report.measurements.map(rounded),
      };
    } catch (error) {
      failures += 1;
      process.stderr.write(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    }
  }
  if (failures < names.length) {
    results.updated_at = new Date().toISOString();
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`Results written to ${join("bench", "results", "latest.json")}\n`);
  }
  if (failures > 0) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 2;
}
