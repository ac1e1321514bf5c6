/**
 * Database constraint errors, recognised by SQLSTATE (PostgreSQL) or extended result code
 * (SQLite) — never by message text, which differs between versions and locales.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
