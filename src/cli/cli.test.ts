import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { describeEachDialect } from "../../test/support/app.js";
import { type LaurelRun, runLaurel } from "../../test/support/cli.js";
import { createTestDatabaseUrl, type TestDatabaseUrl } from "../../test/support/dialects.js";
import { findActiveKeyByToken } from "../modules/keys/index.js";
import { creditPoints, debitPoints, reservePoints, verifyLedger } from "../modules/ledger/index.js";
import { createMember } from "../modules/members/index.js";
import { createShopWithKeys, getShop, listShops, type ShopWithKeys } from "../modules/shops/index.js";
import { assignTier, saveProgram } from "../modules/tiers/index.js";
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
      const migrations = [
        "0001_foundation",
        "0002_ledger",
        "0003_members",
        "0004_events",
        "0005_tiers",
        "0006_rewards",
      ];
      expect(jsonOf(await runLaurel(["migrate", "status", "--json"], env))).toEqual(
        migrations.map((name) => ({ name, applied_at: null })),
      );
      expect(jsonOf(await runLaurel(["migrate", "--json"], env))).toEqual({ applied: migrations });
      const status = jsonOf(await runLaurel(["migrate", "status", "--json"], env));
      expect(status).toEqual(migrations.map((name) => ({ name, applied_at: expect.stringMatching(isoTimestamp) })));
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
        redemption_rate: { points: 100, amount: 100, currency: "EUR", is_default: true },
        enrollment_mode: "auto",
        default_country: null,
        allow_negative_balance: false,
        redeemed_points_on_refund: "keep",
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
    [[], ["serve", "migrate", "shops", "keys", "verify", "settle", "import", "tiers"]],
    [
      ["tiers", "reevaluate"],
      ["Usage: laurel tiers reevaluate", "--shop <id>", "--all", "--json", "--no-progress"],
    ],
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

describeEachDialect("laurel verify and settle", (dialect: Dialect) => {
  const databases: TestDatabaseUrl[] = [];
  afterEach(async () => {
    for (const database of databases.splice(0)) await database.drop();
  });

  const admin = { actor: { type: "admin" as const, id: "cli-test" } };

  /** A migrated database URL with one shop and one member, arranged in this process and closed again. */
  async function createLedgerAt(
    name: string,
    now: Date,
    url?: string,
  ): Promise<{ url: string; shopId: string; memberId: string }> {
    let target = url;
    if (!target) {
      const database = await createTestDatabaseUrl(dialect);
      databases.push(database);
      target = database.url;
    }
    const database = openDatabase(target, { poolSize: 1 });
    try {
      await migrateToLatest(database.db);
      const { shopId, memberId } = await withTransaction(database, async (trx) => {
        const { shop } = await createShopWithKeys(trx, { name, baseCurrency: "USD" }, now);
        const member = await createMember(trx, { shopId: shop.id }, now);
        return { shopId: shop.id, memberId: member.id };
      });
      return { url: target, shopId, memberId };
    } finally {
      await database.close();
    }
  }

  async function withLedgerAt<T>(url: string, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
    const database = openDatabase(url, { poolSize: 1 });
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  }

  /** Earns 100 points, redeems 30 and reserves 20: three transactions, one lot. */
  async function writeTransactions(url: string, shopId: string, memberId: string): Promise<void> {
    const now = new Date("2026-03-01T12:00:00.000Z");
    await withLedgerAt(url, async (database) => {
      await withTransaction(database, (trx) =>
        creditPoints(trx, { ...admin, shopId, memberId, type: "earn", amount: 100 }, now),
      );
      await withTransaction(database, (trx) =>
        debitPoints(trx, { ...admin, shopId, memberId, type: "redeem", amount: 30 }, now),
      );
      await withTransaction(database, (trx) =>
        reservePoints(trx, { ...admin, shopId, memberId, amount: 20, expiresAt: "2026-03-02T12:00:00.000Z" }, now),
      );
    });
  }

  it(
    "reports a healthy ledger as OK, as text and as JSON, for every shop or one",
    async () => {
      const now = new Date("2026-03-01T12:00:00.000Z");
      const first = await createLedgerAt("Healthy Shop", now);
      const second = await createLedgerAt("Quiet Shop", now, first.url);
      await writeTransactions(first.url, first.shopId, first.memberId);
      const env = { LAUREL_DATABASE_URL: first.url };

      const text = await runLaurel(["verify"], env);
      expectSuccess(text);
      expect(text.stdout).toBe("Ledger OK: 2 shop(s), 3 transactions, 2 accounts, 1 lots; every invariant holds.\n");

      const report = jsonOf(await runLaurel(["verify", "--json"], env));
      expect(report).toEqual({ shops: 2, transactions: 3, accounts: 2, lots: 1, problems: [] });
      expect(report).toEqual(await withLedgerAt(first.url, (database) => verifyLedger(database.db)));

      expect(jsonOf(await runLaurel(["verify", "--shop", second.shopId, "--json"], env))).toEqual({
        shops: 1,
        transactions: 0,
        accounts: 1,
        lots: 0,
        problems: [],
      });
    },
    cliTimeoutMs,
  );

  it(
    "reports a corrupted balance as BROKEN, names the check and exits 1",
    async () => {
      const now = new Date("2026-03-01T12:00:00.000Z");
      const broken = await createLedgerAt("Broken Shop", now);
      const healthy = await createLedgerAt("Healthy Shop", now, broken.url);
      await writeTransactions(broken.url, broken.shopId, broken.memberId);
      await withLedgerAt(broken.url, (database) =>
        sql`update point_accounts set available = available + 1 where member_id = ${broken.memberId}`.execute(
          database.db,
        ),
      );
      const env = { LAUREL_DATABASE_URL: broken.url };

      const text = await runLaurel(["verify"], env);
      expect({ code: text.code, stderr: text.stderr }).toEqual({ code: 1, stderr: "" });
      expect(text.stdout).toMatch(/^Ledger BROKEN: 2 problem\(s\) in 2 shop\(s\), 3 transactions/);
      expect(text.stdout).toContain(
        `  ${broken.shopId}  balance_equals_entries  ${broken.memberId}: available: cached 51, entries sum to 50\n`,
      );
      expect(text.stdout).toContain(
        `  ${broken.shopId}  balance_equals_lots  ${broken.memberId}: available 51, available lots hold 50\n`,
      );

      const json = await runLaurel(["verify", "--json"], env);
      expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 1, stderr: "" });
      expect(JSON.parse(json.stdout)).toEqual({
        shops: 2,
        transactions: 3,
        accounts: 2,
        lots: 1,
        problems: [
          {
            shopId: broken.shopId,
            check: "balance_equals_entries",
            subject: broken.memberId,
            detail: "available: cached 51, entries sum to 50",
          },
          {
            shopId: broken.shopId,
            check: "balance_equals_lots",
            subject: broken.memberId,
            detail: "available 51, available lots hold 50",
          },
        ],
      });

      // The other shop alone is still fine.
      const other = await runLaurel(["verify", "--shop", healthy.shopId], env);
      expectSuccess(other);
      expect(other.stdout).toMatch(/^Ledger OK: 1 shop\(s\)/);
    },
    cliTimeoutMs,
  );

  it(
    "refuses to verify or settle a shop that does not exist",
    async () => {
      const { url } = await createLedgerAt("Some Shop", new Date("2026-03-01T12:00:00.000Z"));
      for (const command of ["verify", "settle"]) {
        const run = await runLaurel([command, "--shop", "shop_missing"], { LAUREL_DATABASE_URL: url });
        expect(run).toMatchObject({ code: 1, stdout: "" });
        expect(run.stderr).toBe("Error: No shop shop_missing (shop_not_found)\n");
      }
    },
    cliTimeoutMs,
  );

  it(
    "settles points that expired on the real clock and reports the accounts it settled",
    async () => {
      // Credited in 2020 to expire in mid-2020: long past when the CLI runs on the real clock.
      const then = new Date("2020-01-01T00:00:00.000Z");
      const expiring = await createLedgerAt("Expiring Shop", then);
      const keeper = await createLedgerAt("Keeping Shop", then, expiring.url);
      await withLedgerAt(expiring.url, async (database) => {
        const expiresAt = "2020-06-01T00:00:00.000Z";
        await withTransaction(database, (trx) =>
          creditPoints(
            trx,
            { ...admin, shopId: expiring.shopId, memberId: expiring.memberId, type: "earn", amount: 40, expiresAt },
            then,
          ),
        );
        await withTransaction(database, (trx) =>
          creditPoints(
            trx,
            { ...admin, shopId: keeper.shopId, memberId: keeper.memberId, type: "earn", amount: 10 },
            then,
          ),
        );
      });
      const env = { LAUREL_DATABASE_URL: expiring.url };

      expect(jsonOf(await runLaurel(["settle", "--json"], env))).toEqual({ shops: 2, accounts: 1 });

      await withLedgerAt(expiring.url, async (database) => {
        const accounts = await database.db
          .selectFrom("point_accounts")
          .select(["member_id", "available", "lifetime_expired", "next_due_at"])
          .orderBy("member_id")
          .execute();
        expect(accounts).toEqual(
          [
            { member_id: expiring.memberId, available: 0, lifetime_expired: 40, next_due_at: null },
            { member_id: keeper.memberId, available: 10, lifetime_expired: 0, next_due_at: null },
          ].sort((a, b) => a.member_id.localeCompare(b.member_id)),
        );
        const expired = await database.db
          .selectFrom("ledger_transactions")
          .select(["member_id", "amount", "actor_type"])
          .where("type", "=", "expire")
          .execute();
        expect(expired).toEqual([{ member_id: expiring.memberId, amount: 40, actor_type: "system" }]);
        expect((await verifyLedger(database.db)).problems).toEqual([]);
      });

      // Nothing is due any more; --shop settles only that shop.
      const again = await runLaurel(["settle", "--shop", expiring.shopId], env);
      expectSuccess(again);
      expect(again.stdout).toBe("Settled 0 account(s) in 1 shop(s).\n");
    },
    cliTimeoutMs,
  );
});

describeEachDialect("laurel tiers reevaluate", (dialect: Dialect) => {
  const databases: TestDatabaseUrl[] = [];
  afterEach(async () => {
    for (const database of databases.splice(0)) await database.drop();
  });
  const cliTimeoutMs = 60_000;

  it(
    "re-evaluates the members that are due, then with --all every member, and says what it did",
    async () => {
      const target = await createTestDatabaseUrl(dialect);
      databases.push(target);
      const then = new Date("2020-01-01T00:00:00.000Z");
      const database = openDatabase(target.url, { poolSize: 1 });
      let shopId = "";
      let memberId = "";
      try {
        await migrateToLatest(database.db);
        await withTransaction(database, async (trx) => {
          const { shop } = await createShopWithKeys(trx, { name: "Tier Shop", baseCurrency: "USD" }, then);
          const member = await createMember(trx, { shopId: shop.id }, then);
          shopId = shop.id;
          memberId = member.id;
          await saveProgram(
            trx,
            await getShop(trx, shop.id),
            {
              grace_days: 0,
              tiers: [
                { key: "member", name: { en: "Member" } },
                { key: "silver", name: { en: "Silver" }, thresholds: { orders: 1 } },
                { key: "gold", name: { en: "Gold" }, thresholds: { orders: 5 } },
              ],
            },
            { type: "admin", id: "cli-test" },
            then,
          );
          await assignTier(
            trx,
            {
              shopId,
              memberId,
              tier: "gold",
              reason: "Launch",
              lockedUntil: null,
              actor: { type: "admin", id: "cli-test" },
            },
            then,
          );
        });
      } finally {
        await database.close();
      }
      const env = { LAUREL_DATABASE_URL: target.url };
      // Gold since 2020 without an order: due long ago on the real clock, it drops one tier.
      expect(jsonOf(await runLaurel(["tiers", "reevaluate", "--shop", shopId, "--json"], env))).toEqual({
        shops: [{ shop_id: shopId, evaluated: 1, changed: 1, resumed: false }],
      });
      const again = await runLaurel(["tiers", "reevaluate"], env);
      expectSuccess(again);
      expect(again.stdout).toBe(`${shopId}: 0 member(s) evaluated, 0 changed tier.\n`);
      expect(jsonOf(await runLaurel(["tiers", "reevaluate", "--all", "--json"], env))).toEqual({
        shops: [{ shop_id: shopId, evaluated: 1, changed: 0, resumed: false }],
      });
      const check = openDatabase(target.url, { poolSize: 1 });
      try {
        const row = await check.db
          .selectFrom("member_tiers")
          .select(["tier"])
          .where("member_id", "=", memberId)
          .executeTakeFirstOrThrow();
        expect(row.tier).toBe("silver");
      } finally {
        await check.close();
      }
      const missing = await runLaurel(["tiers", "reevaluate", "--shop", "shop_01JD0000000000000000000000"], env);
      expect(missing.code).toBe(1);
    },
    cliTimeoutMs,
  );
});

describe("laurel verify and settle usage", () => {
  it.concurrent.each([
    [["verify"], ["Usage: laurel verify", "--shop <id>", "--json", "exit 1"]],
    [["settle"], ["Usage: laurel settle", "--shop <id>", "--json"]],
  ])(
    "prints help for laurel %j and exits 0",
    async (command, expected) => {
      const run = await runLaurel([...command, "--help"], { LAUREL_DATABASE_URL: "file:./never-created.db" });
      expectSuccess(run);
      for (const text of expected) expect(run.stdout).toContain(text);
    },
    cliTimeoutMs,
  );
});
