import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, environmentWithDotenv, loadConfig } from "./config.js";

/** The ConfigError that `env` produces; fails the test when it loads without one. */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, { isTerminal: false });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("runs with no variables set, on a local SQLite file", () => {
    expect(loadConfig({}, { isTerminal: false })).toEqual({
      port: 3000,
      host: "127.0.0.1",
      databaseUrl: "file:./data/laurel.db",
      databasePoolSize: 10,
      logLevel: "info",
      logFormat: "json",
      bodyLimitBytes: 1_048_576,
      rateLimitPerSecond: 1000,
      rateLimitBurst: 2000,
      demoShop: true,
      shutdownTimeoutMs: 10_000,
      trustProxy: false,
      sweepIntervalSeconds: 300,
      shopifyApiVersion: "2025-10",
      shopifyAdminOrigin: null,
    });
  });

  it("logs pretty text on a terminal and JSON elsewhere unless told otherwise", () => {
    expect(loadConfig({}, { isTerminal: true }).logFormat).toBe("pretty");
    expect(loadConfig({ LAUREL_LOG_FORMAT: "json" }, { isTerminal: true }).logFormat).toBe("json");
    expect(loadConfig({ LAUREL_LOG_FORMAT: "pretty" }, { isTerminal: false }).logFormat).toBe("pretty");
  });

  it("reads every variable it is given", () => {
    const config = loadConfig(
      {
        LAUREL_PORT: " 8080 ",
        LAUREL_HOST: "0.0.0.0",
        LAUREL_DATABASE_URL: "postgres://laurel:secret@db.internal:5432/laurel",
        LAUREL_DATABASE_POOL_SIZE: "25",
        LAUREL_LOG_LEVEL: "warn",
        LAUREL_BODY_LIMIT: "2048",
        LAUREL_RATE_LIMIT: "50",
        LAUREL_RATE_LIMIT_BURST: "75",
        LAUREL_DEMO_SHOP: "off",
        LAUREL_SHUTDOWN_TIMEOUT_MS: "0",
        LAUREL_TRUST_PROXY: "YES",
        LAUREL_SWEEP_INTERVAL: "0",
        LAUREL_SHOPIFY_API_VERSION: "2026-01",
        LAUREL_SHOPIFY_ADMIN_ORIGIN: "http://127.0.0.1:8123/",
      },
      { isTerminal: false },
    );
    expect(config).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      databaseUrl: "postgres://laurel:secret@db.internal:5432/laurel",
      databasePoolSize: 25,
      logLevel: "warn",
      bodyLimitBytes: 2048,
      rateLimitPerSecond: 50,
      rateLimitBurst: 75,
      demoShop: false,
      shutdownTimeoutMs: 0,
      trustProxy: true,
      sweepIntervalSeconds: 0,
      shopifyApiVersion: "2026-01",
      shopifyAdminOrigin: "http://127.0.0.1:8123",
    });
  });

  it("refuses a Shopify API version or admin origin it cannot use", () => {
    expect(configErrorFor({ LAUREL_SHOPIFY_API_VERSION: "latest" }).variable).toBe("LAUREL_SHOPIFY_API_VERSION");
    expect(configErrorFor({ LAUREL_SHOPIFY_API_VERSION: "2025-02" }).variable).toBe("LAUREL_SHOPIFY_API_VERSION");
    expect(configErrorFor({ LAUREL_SHOPIFY_ADMIN_ORIGIN: "not a url" }).variable).toBe("LAUREL_SHOPIFY_ADMIN_ORIGIN");
    expect(configErrorFor({ LAUREL_SHOPIFY_ADMIN_ORIGIN: "https://proxy.example.com/admin" }).variable).toBe(
      "LAUREL_SHOPIFY_ADMIN_ORIGIN",
    );
    expect(configErrorFor({ LAUREL_SHOPIFY_ADMIN_ORIGIN: "ftp://proxy.example.com" }).variable).toBe(
      "LAUREL_SHOPIFY_ADMIN_ORIGIN",
    );
  });

  it("lets the burst default to twice the sustained rate", () => {
    expect(loadConfig({ LAUREL_RATE_LIMIT: "30" }, { isTerminal: false }).rateLimitBurst).toBe(60);
  });

  it("treats an empty variable as unset", () => {
    expect(
      loadConfig({ LAUREL_PORT: "", LAUREL_DATABASE_URL: " ", LAUREL_DEMO_SHOP: "" }, { isTerminal: false }),
    ).toMatchObject({ port: 3000, databaseUrl: "file:./data/laurel.db", demoShop: true });
  });

  it("accepts postgresql:// as well as postgres://", () => {
    const url = "postgresql://laurel@localhost/laurel";
    expect(loadConfig({ LAUREL_DATABASE_URL: url }, { isTerminal: false }).databaseUrl).toBe(url);
  });

  it.each([
    ["LAUREL_PORT", "abc", /whole number between 0 and 65535.*"abc"/],
    ["LAUREL_PORT", "70000", /between 0 and 65535 \(got 70000\)/],
    ["LAUREL_PORT", "80.5", /whole number/],
    ["LAUREL_DATABASE_URL", "mysql://x", /file: \(SQLite\) or postgres:\/\//],
    ["LAUREL_DATABASE_POOL_SIZE", "0", /between 1 and 1000 \(got 0\)/],
    ["LAUREL_DATABASE_URL", "file:", /needs a path/],
    ["LAUREL_LOG_LEVEL", "loud", /one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/],
    ["LAUREL_LOG_FORMAT", "xml", /one of json, pretty/],
    ["LAUREL_DEMO_SHOP", "maybe", /true or false \(got "maybe"\)/],
    ["LAUREL_TRUST_PROXY", "2", /true or false/],
    ["LAUREL_RATE_LIMIT", "-1", /whole number between 0 and 1000000 \(got "-1"\)/],
    ["LAUREL_RATE_LIMIT_BURST", "0", /between 1 and 10000000 \(got 0\)/],
    ["LAUREL_BODY_LIMIT", "10", /between 1024 and 104857600/],
    ["LAUREL_SHUTDOWN_TIMEOUT_MS", "soon", /whole number/],
  ])("refuses %s=%s and names the variable", (variable, value, reason) => {
    const error = configErrorFor({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.message).toMatch(reason);
  });
});

describe("environmentWithDotenv", () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  function dotenvFile(contents: string): string {
    const directory = mkdtempSync(join(tmpdir(), "laurel-config-"));
    directories.push(directory);
    const path = join(directory, ".env");
    writeFileSync(path, contents);
    return path;
  }

  it("fills in variables from a .env file", () => {
    const path = dotenvFile('# local settings\nLAUREL_PORT=4100\nLAUREL_DATABASE_URL="file:./local.db"\n');
    const env = environmentWithDotenv(path, {});
    expect(env.LAUREL_PORT).toBe("4100");
    expect(loadConfig(env, { isTerminal: false })).toMatchObject({ port: 4100, databaseUrl: "file:./local.db" });
  });

  it("lets the real environment win over the .env file", () => {
    const path = dotenvFile("LAUREL_PORT=4100\nLAUREL_LOG_LEVEL=debug\n");
    const env = environmentWithDotenv(path, { LAUREL_PORT: "5200" });
    expect(env).toMatchObject({ LAUREL_PORT: "5200", LAUREL_LOG_LEVEL: "debug" });
  });

  it("returns the environment unchanged when there is no .env file", () => {
    const real = { LAUREL_PORT: "5200" };
    expect(environmentWithDotenv(join(tmpdir(), "laurel-no-such-directory", ".env"), real)).toEqual(real);
  });

  it("reports a bad value from the .env file under its variable name", () => {
    const path = dotenvFile("LAUREL_PORT=http\n");
    expect(() => loadConfig(environmentWithDotenv(path, {}), { isTerminal: false })).toThrow(/^LAUREL_PORT: /);
  });
});
