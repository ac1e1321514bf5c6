import { Command, CommanderError, Option } from "commander";
// The API's own mappers (toApiKeyResponse, toShopResponse), so --json prints what the HTTP API returns.
import { createApiKey, listAllApiKeys, revokeApiKey, toApiKeyResponse } from "../modules/keys/index.js";
import { settleDueAccounts, verifyLedger } from "../modules/ledger/index.js";
import { createShopWithKeys, getShop, listShops, toShopResponse } from "../modules/shops/index.js";
import { ConfigError } from "../platform/config.js";
import { openDatabase } from "../platform/db/database.js";
import { migrateToLatest, migrationStatus } from "../platform/db/migrate.js";
import { withTransaction } from "../platform/db/transaction.js";
import { clock, describeError, print, readConfig, withDatabase } from "./context.js";
import { registerImportCommand } from "./import.js";
import { serve } from "./serve.js";
import { registerTiersCommand } from "./tiers.js";

const program = new Command()
  .name("laurel")
  .description("Laurel: self-hosted loyalty and membership engine")
  .showHelpAfterError()
  .exitOverride();

program
  .command("serve")
  .description("Run the HTTP API (and docs at /docs) on LAUREL_PORT, migrating the database first")
  .action(async () => {
    await serve(readConfig());
  });

program
  .command("migrate")
  .description("Apply pending database migrations (up) or list them (status)")
  .addArgument(program.createArgument("[action]", "up or status").choices(["up", "status"]).default("up"))
  .option("--json", "print JSON for scripts")
  .action(async (action: "up" | "status", options: { json?: boolean }) => {
    const database = openDatabase(readConfig().databaseUrl, { poolSize: 1 });
    try {
      if (action === "up") {
        const applied = await migrateToLatest(database.db);
        print(Boolean(options.json), { applied }, () =>
          applied.length === 0 ? "Database is up to date." : `Applied: ${applied.join(", ")}`,
        );
      } else {
        const states = await migrationStatus(database.db);
        print(
          Boolean(options.json),
          states.map((state) => ({ name: state.name, applied_at: state.appliedAt })),
          () =>
            states
              .map((state) => `${state.appliedAt ? "applied" : "pending"}  ${state.name}  ${state.appliedAt ?? ""}`)
              .join("\n"),
        );
      }
    } finally {
      await database.close();
    }
  });

const shops = program.command("shops").description("Create and list shops (tenants)");

shops
  .command("create")
  .description("Create a shop with one secret and one publishable key (keys are shown once)")
  .requiredOption("--name <name>", "shop name")
  .requiredOption("--currency <code>", "base currency, ISO 4217 (e.g. EUR)")
  .option("--timezone <zone>", "IANA time zone", "UTC")
  .option("--locale <tag>", "default locale, BCP 47", "en")
  .option("--json", "print JSON for scripts")
  .action(async (options: { name: string; currency: string; timezone: string; locale: string; json?: boolean }) => {
    const created = await withDatabase((database) =>
      withTransaction(database, (trx) =>
        createShopWithKeys(
          trx,
          {
            name: options.name,
            baseCurrency: options.currency,
            timezone: options.timezone,
            defaultLocale: options.locale,
          },
          clock.now(),
        ),
      ),
    );
    print(
      Boolean(options.json),
      {
        shop: toShopResponse(created.shop),
        secret_key: { id: created.secretKey.key.id, token: created.secretKey.token },
        publishable_key: { id: created.publishableKey.key.id, token: created.publishableKey.token },
      },
      () =>
        [
          `Created ${created.shop.name} (${created.shop.id}, ${created.shop.baseCurrency}).`,
          `Secret key:      ${created.secretKey.token}`,
          `Publishable key: ${created.publishableKey.token}`,
          "The keys are shown only now.",
        ].join("\n"),
    );
  });

shops
  .command("list")
  .description("List every shop in this database")
  .option("--json", "print JSON for scripts")
  .action(async (options: { json?: boolean }) => {
    const all = await withDatabase((database) => listShops(database.db));
    print(Boolean(options.json), all.map(toShopResponse), () =>
      all.length === 0
        ? "No shops yet."
        : all.map((shop) => `${shop.id}  ${shop.baseCurrency}  ${shop.timezone}  ${shop.name}`).join("\n"),
    );
  });

const keys = program.command("keys").description("Create, list and revoke a shop's API keys");
const kindOption = new Option("--kind <kind>", "secret or publishable")
  .choices(["secret", "publishable"])
  .default("secret");

keys
  .command("create")
  .description("Create an API key (shown once)")
  .requiredOption("--shop <id>", "shop id")
  .addOption(kindOption)
  .option("--name <name>", "what the key is for", "Created with the CLI")
  .option("--json", "print JSON for scripts")
  .action(async (options: { shop: string; kind: "secret" | "publishable"; name: string; json?: boolean }) => {
    const created = await withDatabase(async (database) => {
      await getShop(database.db, options.shop);
      return withTransaction(database, (trx) =>
        createApiKey(trx, { shopId: options.shop, kind: options.kind, name: options.name }, clock.now()),
      );
    });
    print(Boolean(options.json), { ...toApiKeyResponse(created.key), token: created.token }, () =>
      [`Created ${created.key.kind} key ${created.key.id}:`, created.token, "It is shown only now."].join("\n"),
    );
  });

keys
  .command("list")
  .description("List a shop's keys (never their tokens)")
  .requiredOption("--shop <id>", "shop id")
  .option("--all", "include revoked keys")
  .option("--json", "print JSON for scripts")
  .action(async (options: { shop: string; all?: boolean; json?: boolean }) => {
    const all = await withDatabase(async (database) => {
      await getShop(database.db, options.shop);
      return listAllApiKeys(database.db, options.shop, { includeRevoked: Boolean(options.all) });
    });
    print(Boolean(options.json), all.map(toApiKeyResponse), () =>
      all.length === 0
        ? "No keys."
        : all
            .map((key) =>
              [
                key.id,
                key.kind.padEnd(11),
                `${key.displayPrefix}…`,
                key.revokedAt ? `revoked ${key.revokedAt}` : "active",
                key.name,
              ].join("  "),
            )
            .join("\n"),
    );
  });

keys
  .command("revoke")
  .description("Revoke a key at once (the CLI may revoke a shop's last secret key)")
  .argument("<key-id>", "id of the key (key_…)")
  .requiredOption("--shop <id>", "shop id")
  .option("--json", "print JSON for scripts")
  .action(async (keyId: string, options: { shop: string; json?: boolean }) => {
    const key = await withDatabase((database) =>
      withTransaction(database, (trx) =>
        revokeApiKey(trx, { shopId: options.shop, keyId, keepLastSecret: false }, clock.now()),
      ),
    );
    print(Boolean(options.json), toApiKeyResponse(key), () => `Revoked ${key.id} (${key.name}).`);
  });

program
  .command("verify")
  .description("Check every ledger invariant (balanced entries, balances, lots, reservations); exit 1 if any fails")
  .option("--shop <id>", "check one shop (default: every shop)")
  .option("--json", "print JSON for scripts")
  .action(async (options: { shop?: string; json?: boolean }) => {
    const report = await withDatabase(async (database) => {
      if (options.shop) await getShop(database.db, options.shop);
      return verifyLedger(database.db, { shopId: options.shop });
    });
    print(Boolean(options.json), report, () => {
      const scope = `${report.shops} shop(s), ${report.transactions} transactions, ${report.accounts} accounts, ${report.lots} lots`;
      if (report.problems.length === 0) return `Ledger OK: ${scope}; every invariant holds.`;
      return [
        `Ledger BROKEN: ${report.problems.length} problem(s) in ${scope}:`,
        ...report.problems.map(
          (problem) => `  ${problem.shopId}  ${problem.check}  ${problem.subject}: ${problem.detail}`,
        ),
      ].join("\n");
    });
    if (report.problems.length > 0) process.exitCode = 1;
  });

program
  .command("settle")
  .description("Expire due points, confirm due pending points and release expired reservations now")
  .option("--shop <id>", "settle one shop (default: every shop)")
  .option("--json", "print JSON for scripts")
  .action(async (options: { shop?: string; json?: boolean }) => {
    const settled = await withDatabase(async (database) => {
      const shopIds = options.shop
        ? [(await getShop(database.db, options.shop)).id]
        : (await listShops(database.db)).map((shop) => shop.id);
      let accounts = 0;
      for (const shopId of shopIds) accounts += await settleDueAccounts(database, shopId, clock.now());
      return { shops: shopIds.length, accounts };
    });
    print(Boolean(options.json), settled, () => `Settled ${settled.accounts} account(s) in ${settled.shops} shop(s).`);
  });

registerImportCommand(program);
registerTiersCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the help or the usage error already. Help asked for exits 0; help
    // shown because a command is missing (`laurel keys`) is a usage error like any other.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`Error: ${describeError(error)}\n`);
    process.exitCode = 1;
  }
}
