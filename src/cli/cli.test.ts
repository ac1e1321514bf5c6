import { afterEach, describe, expect, it } from "vitest";
import { describeEachDialect } from "../../test/support/app.js";
import { type LaurelRun, runLaurel } from "../../test/support/cli.js";
import { createTestDatabaseUrl, type TestDatabaseUrl } from "../../test/support/dialects.js";
import { findActiveKeyByToken } from "../modules/keys/index.js";
import { createShopWithKeys, listShops, type ShopWithKeys } from "../modules/shops/index.js";
import { type DatabaseHandle, type Dialect, openDatabase } from "../platform/db/database.js";
import { migrateToLatest } from "../platform/db/migrate.js";
import { withTransaction } from "../platform/db/transaction.js";

// Every case starts the real CLI through tsx (about a second each), so cases are few and broad.
const cliTimeoutMs = 60_000;
const isoTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Asserts a run succeeded, showing its stderr when it did not. */
function expectSuccess(run: LaurelRun): void {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
}

/** Parses a successful run's --json output. */
function jsonOf(run: LaurelRun): unknown {
  expectSuccess(run);
  return JSON.parse(run.stdout);
}

interface CreatedShopJson {
  shop: { id: string };
  secret_key: { id: string; token: string };
  publishable_key: { id: string; token: string };
}

interface ApiKeyJson {
  id: string;
  object: string;
  kind: string;
  name: string;
  revoked_at: string | null;
}

describeEachDialect("laurel command line", (dialect: Dialect) => {
  const databases: TestDatabaseUrl[] = [];
  afterEach(async () => {
    for (const database of databases.splice(0)) await database.drop();
  });

  async function createDatabaseUrl(): Promise<string> {
    const database = await createTestDatabaseUrl(dialect);
    databases.push(database);
    return database.url;
  }

  /** Opens the database the CLI works on, in this process, for arranging and checking rows. */
  async function withDatabaseAt<T>(url: string, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
    const database = openDatabase(url, { poolSize: 1 });
    try {
      await migrateToLatest(database.db);
      return await work(database);
    } finally {
      await database.close();
    }
  }

  function createShopAt(url: string, name: string): Promise<ShopWithKeys> {
    return withDatabaseAt(url, (database) =>
      withTransaction(database, (trx) =>
        createShopWithKeys(trx, { name, baseCurrency: "USD" }, new Date("2026-03-01T12:00:00.000Z")),
      ),
    );
  }

  it(
    "applies pending migrations with migrate and reports them with migrate status",
    async () => {
      const env = { LAUREL_DATABASE_URL: await createDatabaseUrl() };
      expect(jsonOf(await runLaurel(["migrate", "status", "--json"], env))).toEqual([
        { name: "0001_foundation", applied_at: null },
      ]);
      expect(jsonOf(await runLaurel(["migrate", "--json"], env))).toEqual({ applied: ["0001_foundation"] });
      const status = jsonOf(await runLaurel(["migrate", "status", "--json"], env));
      expect(status).toEqual([{ name: "0001_foundation", applied_at: expect.stringMatching(isoTimestamp) }]);
    },
    cliTimeoutMs,
  );

  it(
    "creates a shop whose printed keys authenticate against the database",
    async () => {
      const url = await createDatabaseUrl();
      const created = jsonOf(
        await runLaurel(
          [
            "shops",
            "create",
            "--name",
            "Kestrel Coffee",
            "--currency",
            "EUR",
            "--timezone",
            "Europe/Berlin",
            "--locale",
            "de-de",
            "--json",
          ],
          { LAUREL_DATABASE_URL: url },
        ),
      ) as CreatedShopJson;
      expect(created.shop).toEqual({
        id: expect.stringMatching(/^shop_/),
        object: "shop",
        name: "Kestrel Coffee",
        base_currency: "EUR",
        timezone: "Europe/Berlin",
        default_locale: "de-DE",
        created_at: expect.stringMatching(isoTimestamp),
        updated_at: expect.stringMatching(isoTimestamp),
      });
      expect(created.secret_key.token).toMatch(/^sk_/);
      expect(created.publishable_key.token).toMatch(/^pk_/);

      await withDatabaseAt(url, async (database) => {
        expect(await findActiveKeyByToken(database.db, created.secret_key.token)).toMatchObject({
          id: created.secret_key.id,
          shopId: created.shop.id,
          kind: "secret",
        });
        expect(await findActiveKeyByToken(database.db, created.publishable_key.token)).toMatchObject({
          id: created.publishable_key.id,
          shopId: created.shop.id,
          kind: "publishable",
        });
      });

      const listing = await runLaurel(["keys", "list", "--shop", created.shop.id, "--json"], {
        LAUREL_DATABASE_URL: url,
      });
      const keys = jsonOf(listing) as ApiKeyJson[];
      expect(keys.map((key) => [key.id, key.kind]).sort()).toEqual(
        [
          [created.secret_key.id, "secret"],
          [created.publishable_key.id, "publishable"],
        ].sort(),
      );
      expect(listing.stdout).not.toContain(created.secret_key.token.slice(11));
      expect(listing.stdout).not.toContain(created.publishable_key.token.slice(11));
    },
    cliTimeoutMs,
  );

  it(
    "lists every shop in the database",
    async () => {
      const url = await createDatabaseUrl();
      const first = await createShopAt(url, "First Shop");
      const second = await createShopAt(url, "Second Shop");
      const shops = jsonOf(await runLaurel(["shops", "list", "--json"], { LAUREL_DATABASE_URL: url })) as {
        id: string;
        name: string;
        object: string;
      }[];
      expect(
        shops
          .map((shop) => ({ id: shop.id, name: shop.name, object: shop.object }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      ).toEqual([
        { id: first.shop.id, name: "First Shop", object: "shop" },
        { id: second.shop.id, name: "Second Shop", object: "shop" },
      ]);
    },
    cliTimeoutMs,
  );

  it(
    "creates and revokes a key, and lists a revoked key only with --all",
    async () => {
      const url = await createDatabaseUrl();
      const env = { LAUREL_DATABASE_URL: url };
      const { shop, secretKey, publishableKey } = await createShopAt(url, "Key Shop");

      const created = jsonOf(
        await runLaurel(
          ["keys", "create", "--shop", shop.id, "--kind", "publishable", "--name", "Storefront", "--json"],
          env,
        ),
      ) as ApiKeyJson & { token: string };
      expect(created).toMatchObject({ object: "api_key", kind: "publishable", name: "Storefront", revoked_at: null });
      expect(created.token).toMatch(/^pk_/);

      const revoked = jsonOf(await runLaurel(["keys", "revoke", created.id, "--shop", shop.id, "--json"], env));
      expect(revoked).toMatchObject({ id: created.id, revoked_at: expect.stringMatching(isoTimestamp) });
      expect(revoked).not.toHaveProperty("token");

      const active = jsonOf(await runLaurel(["keys", "list", "--shop", shop.id, "--json"], env)) as ApiKeyJson[];
      expect(active.map((key) => key.id).sort()).toEqual([secretKey.key.id, publishableKey.key.id].sort());

      const all = jsonOf(await runLaurel(["keys", "list", "--shop", shop.id, "--all", "--json"], env)) as ApiKeyJson[];
      expect(all.map((key) => key.id).sort()).toEqual([secretKey.key.id, publishableKey.key.id, created.id].sort());
      expect(all.find((key) => key.id === created.id)?.revoked_at).toMatch(isoTimestamp);

      await withDatabaseAt(url, async (database) => {
        expect(await findActiveKeyByToken(database.db, created.token)).toBeUndefined();
      });
    },
    cliTimeoutMs,
  );

  it(
    "refuses a currency that does not exist and creates no shop",
    async () => {
      const url = await createDatabaseUrl();
      const run = await runLaurel(["shops", "create", "--name", "Nowhere", "--currency", "XYZ"], {
        LAUREL_DATABASE_URL: url,
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/^Error: .*"XYZ" is not an ISO 4217 currency code/);
      expect(run.stderr).toContain("base_currency");
      expect(await withDatabaseAt(url, (database) => listShops(database.db))).toEqual([]);
    },
    cliTimeoutMs,
  );

  it(
    "refuses to create a key for a shop that does not exist",
    async () => {
      const run = await runLaurel(["keys", "create", "--shop", "shop_missing"], {
        LAUREL_DATABASE_URL: await createDatabaseUrl(),
      });
      expect(run).toMatchObject({ code: 1, stdout: "" });
      expect(run.stderr).toContain("Error: No shop shop_missing");
    },
    cliTimeoutMs,
  );

  it(
    "refuses to revoke another shop's key and leaves it working",
    async () => {
      const url = await createDatabaseUrl();
      const owner = await createShopAt(url, "Owner");
      const other = await createShopAt(url, "Other");
      const run = await runLaurel(["keys", "revoke", owner.secretKey.key.id, "--shop", other.shop.id], {
        LAUREL_DATABASE_URL: url,
      });
      expect(run).toMatchObject({ code: 1, stdout: "" });
      expect(run.stderr).toContain(`Error: No API key ${owner.secretKey.key.id} in this shop`);
      await withDatabaseAt(url, async (database) => {
        expect(await findActiveKeyByToken(database.db, owner.secretKey.token)).toMatchObject({
          shopId: owner.shop.id,
        });
      });
    },
    cliTimeoutMs,
  );
});

describe("laurel command line usage", () => {
  // These commands stop before they open a database.
  const unusedDatabase = { LAUREL_DATABASE_URL: "file:./never-created.db" };

  it.concurrent.each([
    [[], ["serve", "migrate", "shops", "keys"]],
    [["serve"], ["Usage: laurel serve"]],
    [["migrate"], ["Usage: laurel migrate", "[action]", "up or status", "--json"]],
    [
      ["shops", "create"],
      ["Usage: laurel shops create", "--name <name>", "--currency <code>", "--timezone", "--locale"],
    ],
    [
      ["shops", "list"],
      ["Usage: laurel shops list", "--json"],
    ],
    [
      ["keys", "create"],
      ["Usage: laurel keys create", "--shop <id>", "--kind <kind>", "--name <name>", "--json"],
    ],
    [
      ["keys", "list"],
      ["Usage: laurel keys list", "--shop <id>", "--all", "--json"],
    ],
    [
      ["keys", "revoke"],
      ["Usage: laurel keys revoke", "<key-id>", "--shop <id>", "--json"],
    ],
  ])(
    "prints help for laurel %j and exits 0",
    async (command, expected) => {
      const run = await runLaurel([...command, "--help"], unusedDatabase);
      expectSuccess(run);
      for (const text of expected) expect(run.stdout).toContain(text);
    },
    cliTimeoutMs,
  );

  it(
    "exits 2 with the usage when a required option is missing",
    async () => {
      const run = await runLaurel(["shops", "create", "--name", "No Currency"], unusedDatabase);
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toContain("required option '--currency <code>' not specified");
      expect(run.stderr).toContain("Usage: laurel shops create");
    },
    cliTimeoutMs,
  );

  it(
    "exits 2 with the usage when a subcommand is missing",
    async () => {
      const run = await runLaurel(["keys"], unusedDatabase);
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toContain("Usage: laurel keys");
    },
    cliTimeoutMs,
  );

  it(
    "refuses to serve on a port that is not a number and names the variable",
    async () => {
      const run = await runLaurel(["serve"], { ...unusedDatabase, LAUREL_PORT: "http" });
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toBe(
        'Configuration error: LAUREL_PORT: must be a whole number between 0 and 65535 (got "http")\n',
      );
    },
    cliTimeoutMs,
  );

  it(
    "refuses a database URL of an unsupported kind and names the variable",
    async () => {
      const run = await runLaurel(["shops", "list"], { LAUREL_DATABASE_URL: "mysql://laurel@localhost/laurel" });
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toMatch(/^Configuration error: LAUREL_DATABASE_URL: must start with file:/);
    },
    cliTimeoutMs,
  );
});
