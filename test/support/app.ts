import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { createShopWithKeys, type NewShop, type Shop } from "../../src/modules/shops/index.js";
import { ManualClock } from "../../src/platform/clock.js";
import { type Config, loadConfig } from "../../src/platform/config.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "../../src/platform/db/database.js";
import { migrateToLatest } from "../../src/platform/db/migrate.js";
import { withTransaction } from "../../src/platform/db/transaction.js";
import { createLogger } from "../../src/platform/logger.js";
import { createTestDatabaseUrl, dialects, postgresSkipReason } from "./dialects.js";

/**
 * Runs `body` once per dialect (SQLite, and PostgreSQL when configured). When PostgreSQL is not
 * configured, a skipped suite says so in the report.
 */
export function describeEachDialect(title: string, body: (dialect: Dialect) => void): void {
  describe.each(dialects)(`${title} [%s]`, body);
  const reason = postgresSkipReason;
  if (reason) {
    describe.skip(`${title} [postgres]`, () => {
      it(reason, () => undefined);
    });
  }
}

export interface TestApp {
  app: FastifyInstance;
  database: DatabaseHandle;
  clock: ManualClock;
  config: Config;
  databaseUrl: string;
}

/** A migrated database of the dialect and a real Laurel app on it, with a clock the test moves. */
export async function createTestApp(
  dialect: Dialect,
  overrides: Partial<Config> = {},
): Promise<TestApp & { close(): Promise<void> }> {
  const target = await createTestDatabaseUrl(dialect);
  const config: Config = {
    ...loadConfig({ LAUREL_DATABASE_URL: target.url, LAUREL_DEMO_SHOP: "false" }, { isTerminal: false }),
    logLevel: "silent",
    ...overrides,
  };
  const database = openDatabase(target.url, { poolSize: 4 });
  const clock = new ManualClock("2026-03-01T12:00:00.000Z");
  let app: FastifyInstance;
  try {
    await migrateToLatest(database.db);
    app = await buildApp({ config, database, clock, logger: createLogger(config) });
  } catch (error) {
    await database.close();
    await target.drop();
    throw error;
  }
  return {
    app,
    database,
    clock,
    config,
    databaseUrl: target.url,
    close: async () => {
      await app.close();
      await database.close();
      await target.drop();
    },
  };
}

/**
 * One TestApp per describe block: created before its tests, closed after. Use the returned getter
 * inside tests (`const t = useTestApp(dialect); … t().app.inject(…)`).
 */
export function useTestApp(dialect: Dialect, overrides: Partial<Config> = {}): () => TestApp {
  let current: (TestApp & { close(): Promise<void> }) | undefined;
  beforeAll(async () => {
    current = await createTestApp(dialect, overrides);
  });
  afterAll(async () => {
    await current?.close();
  });
  return () => {
    if (!current) throw new Error("test app not started");
    return current;
  };
}

export interface TestShop {
  shop: Shop;
  secretKey: string;
  publishableKey: string;
  secretKeyId: string;
  publishableKeyId: string;
}

let shopCounter = 0;

/** A new shop with a secret and a publishable key. */
export async function createShop(testApp: TestApp, input: Partial<NewShop> = {}): Promise<TestShop> {
  shopCounter += 1;
  const created = await withTransaction(testApp.database, (trx) =>
    createShopWithKeys(trx, { name: `Test Shop ${shopCounter}`, baseCurrency: "USD", ...input }, testApp.clock.now()),
  );
  return {
    shop: created.shop,
    secretKey: created.secretKey.token,
    publishableKey: created.publishableKey.token,
    secretKeyId: created.secretKey.key.id,
    publishableKeyId: created.publishableKey.key.id,
  };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
