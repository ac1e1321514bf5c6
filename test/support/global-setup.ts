import pg from "pg";

/** Fails the run early and clearly when PostgreSQL is required but cannot be reached. */
export default async function checkPostgres(): Promise<void> {
  const url = process.env.LAUREL_TEST_DATABASE_URL?.trim();
  if (!url) {
    if (process.env.LAUREL_TEST_REQUIRE_PG === "1") {
      throw new Error("LAUREL_TEST_REQUIRE_PG=1 but LAUREL_TEST_DATABASE_URL is not set");
    }
    process.stdout.write("PostgreSQL tests skipped: set LAUREL_TEST_DATABASE_URL=postgres://… to run them\n");
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    throw new Error(`PostgreSQL at LAUREL_TEST_DATABASE_URL is not reachable: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
