import type { SqlClient } from '../_sql.ts'

/** The registry's tables (same DDL on SQLite and PostgreSQL). Version numbers are never reused, even after GC. */
export function ensureRegistrySchema(sql: SqlClient): Promise<void> {
  return sql.exec(`
CREATE TABLE IF NOT EXISTS function_names (
  name TEXT PRIMARY KEY,
  last_version INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS function_versions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  bundle_key TEXT NOT NULL,
  manifest TEXT NOT NULL,
  created_at TEXT NOT NULL,
  source_commit TEXT,
  PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS function_versions_sha ON function_versions (name, sha256);
CREATE TABLE IF NOT EXISTS function_aliases (
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  routes TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (name, alias)
);
`)
}
