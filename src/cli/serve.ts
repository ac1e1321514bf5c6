import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../app.js";
import { shopifySettingsOf } from "../integrations/shopify/discount-sync.js";
import { createDemoShopIfEmpty, type ShopWithKeys } from "../modules/shops/index.js";
import { systemClock } from "../platform/clock.js";
import type { Config } from "../platform/config.js";
import { type DatabaseHandle, openDatabase } from "../platform/db/database.js";
import { migrateToLatest } from "../platform/db/migrate.js";
import { createLogger, type Logger } from "../platform/logger.js";
import { scheduleSweeps } from "./sweeps.js";

function demoBanner(demo: ShopWithKeys, url: string): string {
  const line = "=".repeat(78);
  return [
    line,
    " Laurel created a demo shop. Its keys are shown only now: copy them.",
    "",
    `   Shop             ${demo.shop.name} (${demo.shop.id}, ${demo.shop.baseCurrency})`,
    `   Secret key       ${demo.secretKey.token}`,
    `   Publishable key  ${demo.publishableKey.token}`,
    "",
    ` Try it:  curl -H "Authorization: Bearer ${demo.secretKey.token}" ${url}/v1/shop`,
    ` API reference: ${url}/docs`,
    line,
    "",
  ].join("\n");
}

/**
 * Starts the HTTP server: migrates the database, creates the demo shop on first start, listens,
 * and on SIGTERM or SIGINT stops accepting connections, lets in-flight requests finish (up to
 * LAUREL_SHUTDOWN_TIMEOUT_MS) and closes the database before exiting.
 */
export async function serve(config: Config): Promise<FastifyInstance> {
  const logger = createLogger(config);
  const database = openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize });
  const { app, address } = await startListening(config, database, logger);
  const displayHost = config.host === "127.0.0.1" || config.host === "0.0.0.0" ? "localhost" : config.host;
  const url = `http://${displayHost}:${(app.server.address() as { port: number }).port}`;

  if (config.demoShop) {
    const demo = await createDemoShopIfEmpty(database, systemClock.now());
    if (demo) process.stdout.write(demoBanner(demo, url));
  }
  logger.info({ address, database: database.dialect }, `Laurel is listening on ${url} (API reference at ${url}/docs)`);
  const stopSweeps = scheduleSweeps(
    database,
    systemClock,
    logger,
    config.sweepIntervalSeconds,
    shopifySettingsOf(config),
  );

  // Node keeps a keep-alive connection open after the response that was in flight when the
  // server began to close, so shutdown would wait for the client to hang up or for the timeout.
  // Responses not yet sent when shutdown begins, and any request still routed after it, are
  // answered with Connection: close instead.
  let closing = false;
  const unsentResponses = new Set<ServerResponse>();
  app.server.prependListener("request", (_request: IncomingMessage, response: ServerResponse) => {
    if (closing) {
      response.setHeader("connection", "close");
      return;
    }
    unsentResponses.add(response);
    response.once("close", () => unsentResponses.delete(response));
  });

  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    for (const response of unsentResponses) {
      if (!response.headersSent) response.setHeader("connection", "close");
    }
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    const timer = setTimeout(() => {
      logger.warn("in-flight requests did not finish in time; closing anyway");
      app.server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await app.close();
      await stopSweeps();
      await database.close();
      logger.info("shutdown complete");
      logger.flush();
      process.exitCode = 0;
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exitCode = 1;
    }
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  return app;
}

/** Migrates, builds the app and listens; on failure closes what it opened, so the process can exit at once. */
async function startListening(
  config: Config,
  database: DatabaseHandle,
  logger: Logger,
): Promise<{ app: FastifyInstance; address: string }> {
  let app: FastifyInstance | undefined;
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, "database migrated");
    app = await buildApp({ config, database, clock: systemClock, logger });
    const address = await app.listen({ port: config.port, host: config.host });
    return { app, address };
  } catch (error) {
    // An open PostgreSQL pool would keep the process alive until its idle timeout.
    await app?.close();
    await database.close();
    throw error;
  }
}
