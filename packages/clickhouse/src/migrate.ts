import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { READ_ONLY_USER, readOnlyUserStatements } from "./analyst.ts";
import { queryRows, quoteString } from "./client.ts";

/** The versioned DDL, in order: packages/clickhouse/migrations/NNNN_name.sql (shipped with this package). */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(dir + file, "utf8");
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        checksum: createHash("sha256").update(text).digest("hex").slice(0, 16),
        statements: splitStatements(text),
      };
    });
}

/** Statements end with `;` at the end of a line; `--` comment lines are dropped. */
export function splitStatements(text: string): string[] {
  const withoutComments = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");
  return withoutComments
    .split(/;\s*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

export interface MigrationReport {
  database: string;
  applied: string[];
  alreadyApplied: string[];
  /** What became of the analysts' read-only user. */
  readOnlyUser: string;
}

/** How reports name a migration: its file name without `.sql`. */
export function migrationLabel(migration: Pick<Migration, "version" | "name">): string {
  return `${String(migration.version).padStart(4, "0")}_${migration.name}`;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

/**
 * Applies the migrations not yet recorded in `<db>.migrations`, in order. Every statement
 * is idempotent (IF NOT EXISTS), so a run cut off half-way is simply run again, and so are runs
 * at once (sinks started together): the record is a MergeTree, which takes concurrent inserts,
 * and a migration recorded twice is the same row twice. A recorded migration whose file changed
 * since is an error: published DDL is never edited, a new file is added.
 */
export async function migrate(
  client: ClickHouseClient,
  database: string,
  options: { dir?: string; analystPassword?: string | undefined } = {},
): Promise<MigrationReport> {
  const dir = options.dir ?? MIGRATIONS_DIR;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new MigrationError(`database name ${JSON.stringify(database)} is not an identifier`);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.migrations (version UInt32, name String, checksum String, applied_at DateTime) ENGINE = MergeTree ORDER BY version`,
  });
  // Every checksum recorded per version: rows recorded twice agree, an edited file does not.
  const checksums = new Map<number, Set<string>>();
  for (const table of await recordTables(client, database)) {
    for (const row of await queryRows<{ version: number; checksum: string }>(client, `SELECT version, checksum FROM ${database}.${table}`)) {
      const version = Number(row.version);
      checksums.set(version, (checksums.get(version) ?? new Set()).add(row.checksum));
    }
  }
  const report: MigrationReport = { database, applied: [], alreadyApplied: [], readOnlyUser: "" };
  for (const migration of readMigrations(dir)) {
    const label = migrationLabel(migration);
    const recorded = checksums.get(migration.version);
    if (recorded) {
      const other = [...recorded].find((checksum) => checksum !== migration.checksum);
      if (other !== undefined) {
        throw new MigrationError(`migration ${label} was applied with checksum ${other} but the file now has ${migration.checksum}; add a new migration instead of editing an applied one`);
      }
      report.alreadyApplied.push(label);
      continue;
    }
    for (const statement of migration.statements) {
      try {
        await runBesideOtherMigrations(client, statement.replaceAll("{{db}}", database));
      } catch (error) {
        throw new MigrationError(`migration ${label} failed: ${(error as Error).message}\n--- statement ---\n${statement.slice(0, 400)}`);
      }
    }
    await client.command({
      query: `INSERT INTO ${database}.migrations VALUES (${migration.version}, ${quoteString(migration.name)}, ${quoteString(migration.checksum)}, now())`,
    });
    report.applied.push(label);
  }
  report.readOnlyUser = await ensureReadOnlyUser(client, database, options.analystPassword);
  return report;
}

/**
 * Runs a statement, trying again for a while when a table or view it reads does not exist: a
 * migration that replaces a view (DROP, then CREATE: 18.16 has no CREATE OR REPLACE) run by another
 * sink at the same moment leaves that view missing for an instant, and a statement that reads it
 * then fails although the database ends complete.
 */
async function runBesideOtherMigrations(client: ClickHouseClient, statement: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await runStatement(client, statement);
      return;
    } catch (error) {
      if (attempt >= 20 || !/Code: 60\b|UNKNOWN_TABLE/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * Math.min(attempt, 5)));
    }
  }
}

/** `ALTER TABLE db.table ADD COLUMN IF NOT EXISTS name …`: the parts `runStatement` needs. */
const ADD_COLUMN_IF_NOT_EXISTS = /^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s/i;

/** One column added by an idempotent ALTER, or null for any other statement. */
export function columnAddition(statement: string): { database: string; table: string; column: string; withoutIfNotExists: string } | null {
  const match = ADD_COLUMN_IF_NOT_EXISTS.exec(statement);
  if (!match) return null;
  return { database: match[1]!, table: match[2]!, column: match[3]!, withoutIfNotExists: statement.replace(/\s+IF\s+NOT\s+EXISTS\s+/i, " ") };
}

/**
 * Runs one DDL statement. `ADD COLUMN IF NOT EXISTS` (one column per statement) is the migrations'
 * idempotent way to add a column, but ClickHouse 18.16 does not parse it: on every server the
 * column is looked up in system.columns and added without the clause only when it is missing; a
 * concurrent migration that added it first (the ALTER then fails) counts as done.
 */
async function runStatement(client: ClickHouseClient, statement: string): Promise<void> {
  const addition = columnAddition(statement);
  if (addition === null) {
    await client.command({ query: statement });
    return;
  }
  const exists = async () =>
    (
      await queryRows<{ name: string }>(
        client,
        `SELECT name FROM system.columns WHERE database = ${quoteString(addition.database)} AND table = ${quoteString(addition.table)} AND name = ${quoteString(addition.column)}`,
      )
    ).length > 0;
  if (await exists()) return;
  try {
    await client.command({ query: addition.withoutIfNotExists });
  } catch (error) {
    if (!(await exists())) throw error;
  }
}

/**
 * Where applied migrations are recorded: `migrations`, and `schema_migrations` in databases first
 * migrated before it. That one is a TinyLog, which breaks under concurrent inserts ("File not found:
 * …/tmp_sizes.json" when three sinks migrated a new database at once); it is only read now.
 */
async function recordTables(client: ClickHouseClient, database: string): Promise<string[]> {
  const legacy = await queryRows<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = ${quoteString(database)} AND name = 'schema_migrations'`,
  );
  return legacy.length > 0 ? ["migrations", "schema_migrations"] : ["migrations"];
}

/**
 * The analysts' read-only user: SELECT on the database, nothing else, settings fixed (analyst.ts).
 * Servers with SQL user management (ClickHouse ≥ 20.5) get it from here; older ones (18.16) define
 * users only in their users.xml, where the local stack has it (infra/clickhouse/users.xml).
 */
async function ensureReadOnlyUser(client: ClickHouseClient, database: string, password: string | undefined): Promise<string> {
  const [row] = await queryRows<{ version: string }>(client, "SELECT version() AS version");
  const [major = 0, minor = 0] = (row?.version ?? "0.0").split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 5)) {
    return `ClickHouse ${row?.version} has no SQL user management: ${READ_ONLY_USER} comes from the server's users.xml`;
  }
  if (!password) return `CLICKHOUSE_ANALYST_PASSWORD is not set: ${READ_ONLY_USER} not created`;
  for (const statement of readOnlyUserStatements(database, password)) {
    try {
      await client.command({ query: statement });
    } catch (error) {
      // ClickHouse quotes the statement in some errors; the password (as given and as quoted) is not for the logs.
      const message = (error as Error).message.replaceAll(password, "[redacted]").replaceAll(quoteString(password).slice(1, -1), "[redacted]");
      throw new MigrationError(`${READ_ONLY_USER} could not be set up: ${message}`);
    }
  }
  return `${READ_ONLY_USER}: SELECT on ${database}.*, readonly, fixed limits`;
}
