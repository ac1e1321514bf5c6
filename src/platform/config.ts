import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/**
 * Laurel is configured only through LAUREL_* environment variables (a `.env` file in the working
 * directory is read too; real environment variables win). Everything is validated at start and a
 * bad value stops the process with a message that names the variable.
 */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL connections per process (SQLite always uses one). */
  databasePoolSize: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  logFormat: "json" | "pretty";
  bodyLimitBytes: number;
  /** Sustained requests per second allowed per API key; 0 turns rate limiting off. */
  rateLimitPerSecond: number;
  /** Requests a key may send at once above the sustained rate. */
  rateLimitBurst: number;
  /** Create a demo shop and print its keys when the database has no shop yet. */
  demoShop: boolean;
  /** How long graceful shutdown waits for in-flight requests before closing anyway. */
  shutdownTimeoutMs: number;
  /** Trust X-Forwarded-* from a reverse proxy (so request.ip and protocol are the client's). */
  trustProxy: boolean;
  /** Seconds between the server's scheduled sweeps (points settlement, tier re-evaluation); 0: none. */
  sweepIntervalSeconds: number;
  /** The Shopify Admin API version discount codes are created with. */
  shopifyApiVersion: string;
  /** Where Shopify Admin API calls go instead of https://{shop domain} (a proxy, or a test server). */
  shopifyAdminOrigin: string | null;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(name, `must be a whole number between ${min} and ${max} (got "${raw}")`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max} (got ${value})`);
  }
  return value;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false (got "${env[name]}")`);
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${choices.join(", ")} (got "${raw}")`);
  }
  return raw as T;
}

function readShopifyApiVersion(env: Env): string {
  const raw = env.LAUREL_SHOPIFY_API_VERSION?.trim() || "2025-10";
  if (!/^\d{4}-(01|04|07|10)$/.test(raw)) {
    throw new ConfigError("LAUREL_SHOPIFY_API_VERSION", `must be a Shopify API version like 2025-10, not "${raw}"`);
  }
  return raw;
}

function readOrigin(env: Env, name: string): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, "is not a valid URL");
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search !== "") {
    throw new ConfigError(name, "must be an http(s) origin without a path, like https://proxy.example.com");
  }
  return url.origin;
}

function readDatabaseUrl(env: Env): string {
  const raw = env.LAUREL_DATABASE_URL?.trim() || "file:./data/laurel.db";
  if (raw.startsWith("file:")) {
    if (raw.length === "file:".length)
      throw new ConfigError("LAUREL_DATABASE_URL", "file: needs a path, e.g. file:./data/laurel.db");
    return raw;
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    try {
      new URL(raw);
    } catch {
      throw new ConfigError("LAUREL_DATABASE_URL", "is not a valid postgres:// URL");
    }
    return raw;
  }
  throw new ConfigError("LAUREL_DATABASE_URL", "must start with file: (SQLite) or postgres:// (PostgreSQL)");
}

/** Reads the configuration from `env`; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, options: { isTerminal?: boolean } = {}): Config {
  const isTerminal = options.isTerminal ?? process.stdout.isTTY === true;
  const burstDefault = Math.max(1, 2 * readInteger(env, "LAUREL_RATE_LIMIT", 1000, 0, 1_000_000));
  return {
    port: readInteger(env, "LAUREL_PORT", 3000, 0, 65535),
    host: env.LAUREL_HOST?.trim() || "127.0.0.1",
    databaseUrl: readDatabaseUrl(env),
    databasePoolSize: readInteger(env, "LAUREL_DATABASE_POOL_SIZE", 10, 1, 1000),
    logLevel: readChoice(env, "LAUREL_LOG_LEVEL", logLevels, "info"),
    logFormat: readChoice(env, "LAUREL_LOG_FORMAT", ["json", "pretty"] as const, isTerminal ? "pretty" : "json"),
    bodyLimitBytes: readInteger(env, "LAUREL_BODY_LIMIT", 1_048_576, 1024, 104_857_600),
    rateLimitPerSecond: readInteger(env, "LAUREL_RATE_LIMIT", 1000, 0, 1_000_000),
    rateLimitBurst: readInteger(env, "LAUREL_RATE_LIMIT_BURST", burstDefault, 1, 10_000_000),
    demoShop: readBoolean(env, "LAUREL_DEMO_SHOP", true),
    shutdownTimeoutMs: readInteger(env, "LAUREL_SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    trustProxy: readBoolean(env, "LAUREL_TRUST_PROXY", false),
    sweepIntervalSeconds: readInteger(env, "LAUREL_SWEEP_INTERVAL", 300, 0, 86_400),
    shopifyApiVersion: readShopifyApiVersion(env),
    shopifyAdminOrigin: readOrigin(env, "LAUREL_SHOPIFY_ADMIN_ORIGIN"),
  };
}

/** The process environment with a `.env` file from the working directory filled in underneath it. */
export function environmentWithDotenv(path = ".env", env: Env = process.env): Env {
  if (!existsSync(path)) return env;
  return { ...parseEnv(readFileSync(path, "utf8")), ...env };
}
