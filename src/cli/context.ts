import { systemClock } from "../platform/clock.js";
import { type Config, environmentWithDotenv, loadConfig } from "../platform/config.js";
import { type DatabaseHandle, openDatabase } from "../platform/db/database.js";
import { migrateToLatest } from "../platform/db/migrate.js";
import { AppError } from "../platform/errors.js";

export function readConfig(): Config {
  return loadConfig(environmentWithDotenv());
}

/** Opens the configured database, brings it up to date and runs `work`, closing it afterwards. */
export async function withDatabase<T>(work: (database: DatabaseHandle, config: Config) => Promise<T>): Promise<T> {
  const config = readConfig();
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db);
    return await work(database, config);
  } finally {
    await database.close();
  }
}

export const clock = systemClock;

/** Prints `value` as JSON for scripts, or `text` for people. */
export function print(asJson: boolean, value: unknown, text: () => string): void {
  process.stdout.write(asJson ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

export function describeError(error: unknown): string {
  if (error instanceof AppError) {
    const fields = error.errors?.map((field) => `  ${field.pointer.replace(/^\/body\//, "")}: ${field.message}`) ?? [];
    return [`${error.message} (${error.code})`, ...fields].join("\n");
  }
  return error instanceof Error ? error.message : String(error);
}
