import { type ChildProcessByStdio, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { afterEach, expect, it } from "vitest";
import { type VerifyReport, verifyLedger } from "../src/modules/ledger/index.js";
import { createMember } from "../src/modules/members/index.js";
import { createShopWithKeys } from "../src/modules/shops/index.js";
import { type Dialect, openDatabase } from "../src/platform/db/database.js";
import { migrateToLatest } from "../src/platform/db/migrate.js";
import { withTransaction } from "../src/platform/db/transaction.js";
import { describeEachDialect } from "./support/app.js";
import { laurelEnvironment, runLaurel } from "./support/cli.js";
import { createTestDatabaseUrl, type TestDatabaseUrl } from "./support/dialects.js";

// A writer process is killed with SIGKILL in the middle of a stream of ledger commands, several
// times on the same database; after each kill the ledger must verify clean (in this process and
// through the real `laurel verify`) and hold every command the writer reported as committed.
// Nothing waits for time to pass: the test reacts to the writer's stdout lines and its exit.
const crashTestTimeoutMs = 60_000;
const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const writerScript = fileURLToPath(new URL("./support/ledger-writer.ts", import.meta.url));
const memberCount = 20;
/** Kill the writer once it has reported this many committed commands (one run per entry). */
const killAfter = [300, 340, 380];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running ledger-writer whose stdout is followed line by line. */
class WriterProcess {
  /** The highest `ok <n>` seen: commands the writer reported committed. */
  committed = 0;
  readonly commands = new Set<string>();
  readonly unexpectedLines: string[] = [];
  stderr = "";
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private onProgress: (() => void) | undefined;
  private hasExited = false;

  constructor(variables: Record<string, string>) {
    this.child = spawn(process.execPath, ["--import", "tsx", writerScript], {
      cwd: repositoryRoot,
      env: laurelEnvironment(variables),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const ok = /^ok (\d+) (\S+)$/.exec(line);
      if (ok) {
        this.committed = Math.max(this.committed, Number(ok[1]));
        this.commands.add(ok[2] as string);
      } else if (!/^replayed \S+$/.test(line)) {
        this.unexpectedLines.push(line);
      }
      this.onProgress?.();
    });
    // "close" comes after stdout has ended, so every line has been read by then.
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.hasExited = true;
        this.onProgress?.();
        resolve({ code, signal });
      });
    });
  }

  /** Resolves once the writer has reported `count` committed commands; rejects if it exits first. */
  reached(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onProgress = () => {
        if (this.committed >= count) {
          this.onProgress = undefined;
          resolve();
        } else if (this.hasExited) {
          this.onProgress = undefined;
          reject(new Error(`ledger-writer exited after ${this.committed} commands.\nstderr:\n${this.stderr}`));
        }
      };
      this.onProgress();
    });
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

describeEachDialect("ledger after a writer is killed", (dialect: Dialect) => {
  const databases: TestDatabaseUrl[] = [];
  const writers: WriterProcess[] = [];
  afterEach(async () => {
    // A test that failed or timed out before its kill must not leave a writer running.
    for (const writer of writers.splice(0)) {
      writer.kill();
      await writer.exited;
    }
    for (const database of databases.splice(0)) await database.drop();
  });

  /** A migrated database with one shop and its members, prepared (and closed again) in this process. */
  async function prepareDatabase(): Promise<{ url: string; shopId: string }> {
    const target = await createTestDatabaseUrl(dialect);
    databases.push(target);
    const database = openDatabase(target.url, { poolSize: 1 });
    try {
      await migrateToLatest(database.db);
      const now = new Date("2026-01-01T00:00:00.000Z");
      const shopId = await withTransaction(database, async (trx) => {
        const { shop } = await createShopWithKeys(trx, { name: "Crash Shop", baseCurrency: "EUR" }, now);
        for (let index = 0; index < memberCount; index += 1) await createMember(trx, { shopId: shop.id }, now);
        return shop.id;
      });
      return { url: target.url, shopId };
    } finally {
      await database.close();
    }
  }

  it(
    "verifies clean and keeps every reported command after each SIGKILL",
    async () => {
      const { url, shopId } = await prepareDatabase();
      // PostgreSQL takes commands on several connections at once; SQLite has one writer.
      const workers = dialect === "postgres" ? 4 : 1;
      const commands = new Set<string>();
      let reportedTotal = 0;
      let writerTransactions = 0;

      for (const [run, threshold] of killAfter.entries()) {
        const seed = randomInt(2 ** 31);
        const context = `run ${run + 1}, seed ${seed}`;
        const writer = new WriterProcess({
          WRITER_DATABASE_URL: url,
          WRITER_SHOP_ID: shopId,
          WRITER_WORKERS: String(workers),
          WRITER_SEED: String(seed),
        });
        writers.push(writer);
        await writer.reached(threshold);
        writer.kill();
        const exit = await writer.exited;
        expect({ exit, stderr: writer.stderr, unexpected: writer.unexpectedLines }, context).toEqual({
          exit: { code: null, signal: "SIGKILL" },
          stderr: "",
          unexpected: [],
        });
        for (const command of writer.commands) commands.add(command);
        reportedTotal += writer.committed;

        const database = openDatabase(url, { poolSize: 1 });
        let report: VerifyReport;
        try {
          report = await verifyLedger(database.db);
          expect(report.problems, context).toEqual([]);
          expect(report.transactions, context).toBeGreaterThanOrEqual(reportedTotal);
          // Every command reported committed is stored; at most one per worker committed unreported.
          const counted = await sql<{ count: number }>`
            select count(*) as count from ledger_transactions
            where shop_id = ${shopId} and actor_id = 'ledger-writer'`.execute(database.db);
          const stored = Number(counted.rows[0]?.count);
          expect(stored - writerTransactions, context).toBeGreaterThanOrEqual(writer.committed);
          expect(stored - writerTransactions, context).toBeLessThanOrEqual(writer.committed + workers);
          writerTransactions = stored;
        } finally {
          await database.close();
        }

        const cli = await runLaurel(["verify", "--json"], { LAUREL_DATABASE_URL: url });
        expect({ code: cli.code, stderr: cli.stderr }, context).toEqual({ code: 0, stderr: "" });
        expect(JSON.parse(cli.stdout), context).toEqual(report);
      }

      // The stream did exercise every command, and Laurel's own settling (expiry, confirmation).
      expect([...commands].sort()).toEqual(["commit", "earn", "earn-pending", "redeem", "release", "reserve"]);
      const database = openDatabase(url, { poolSize: 1 });
      try {
        const types = await database.db
          .selectFrom("ledger_transactions")
          .select("type")
          .distinct()
          .where("shop_id", "=", shopId)
          .where("actor_type", "=", "system")
          .execute();
        expect(types.map((row) => row.type).sort()).toEqual(expect.arrayContaining(["confirm", "expire"]));
      } finally {
        await database.close();
      }
    },
    crashTestTimeoutMs,
  );
});
