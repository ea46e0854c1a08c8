import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Config } from "@clm/config";
import { READ_ONLY_USER, readOnlyUserStatements } from "./analyst.ts";
import { createShardClients, queryRows, quoteString, type ClickHouseConnection } from "./client.ts";
import { clusterStatements, viewName } from "./cluster-ddl.ts";

/** The versioned DDL, in order: packages/clickhouse/migrations/NNNN_name.sql (shipped with this package). */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
  /** The cluster texts of some of its views (migrations/cluster/ + the same file name), by view name; mostly none. */
  clusterViews: ReadonlyMap<string, string>;
  /** What a sharded database records: the checksum of the file and of its cluster texts (the same as `checksum` without them). */
  clusterChecksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(dir + file, "utf8");
      const statements = splitStatements(text);
      const clusterFile = `${dir}cluster/${file}`;
      const clusterText = existsSync(clusterFile) ? readFileSync(clusterFile, "utf8") : null;
      const checksum = createHash("sha256").update(text).digest("hex").slice(0, 16);
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        checksum,
        statements,
        clusterViews: clusterText === null ? new Map() : clusterViewsOf(file, clusterText, statements),
        clusterChecksum: clusterText === null ? checksum : createHash("sha256").update(text).update("\0").update(clusterText).digest("hex").slice(0, 16),
      };
    });
}

/** The views of migrations/cluster/<file>: each a CREATE VIEW of a view the migration itself creates. */
function clusterViewsOf(file: string, text: string, statements: readonly string[]): Map<string, string> {
  const created = new Set(statements.map(viewName).filter((name) => name !== null));
  const views = new Map<string, string>();
  for (const statement of splitStatements(text)) {
    const name = viewName(statement);
    if (name === null) throw new MigrationError(`migrations/cluster/${file} holds a statement that is not a CREATE VIEW IF NOT EXISTS: ${statement.slice(0, 80)}`);
    if (!created.has(name)) throw new MigrationError(`migrations/cluster/${file} gives the cluster text of ${name}, which ${file} does not create`);
    views.set(name, statement);
  }
  return views;
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
  checkIdentifier("database", database);
  await prepareRecord(client, database);
  const checksums = await recordedChecksums(client, database);
  const report: MigrationReport = { database, applied: [], alreadyApplied: [], readOnlyUser: "" };
  for (const migration of readMigrations(options.dir ?? MIGRATIONS_DIR)) {
    if (isRecorded(checksums, migration, migration.checksum)) {
      report.alreadyApplied.push(migrationLabel(migration));
      continue;
    }
    await applyMigration(client, database, migration, migration.statements, migration.checksum);
    report.applied.push(migrationLabel(migration));
  }
  report.readOnlyUser = await ensureReadOnlyUser(client, database, options.analystPassword);
  return report;
}

/** The shards of a sharded database: the `remote_servers` cluster name and one client per shard (any order). */
export interface ShardedClickHouse {
  cluster: string;
  shards: readonly ClickHouseClient[];
}

/**
 * `migrate` for a database sharded over `target.cluster` (docs/sink.md, "Sharded ClickHouse").
 * ClickHouse 18.16 runs `ON CLUSTER` DDL only through ZooKeeper, so this connects to every shard and
 * runs each migration's cluster statements (cluster-ddl.ts) there, migration by migration. Each shard
 * keeps its own record (`<db>.migrations`, a local table): a run cut off with a migration done on
 * some shards only does the rest on the next run, and the statements are idempotent as on one server.
 * First it checks that the clients reach exactly the cluster's shards, each once.
 */
export async function migrateCluster(
  target: ShardedClickHouse,
  database: string,
  options: { dir?: string; analystPassword?: string | undefined } = {},
): Promise<MigrationReport> {
  checkIdentifier("database", database);
  checkIdentifier("cluster", target.cluster);
  // Every statement's cluster form first: a statement without one stops the run before any DDL.
  const plan = readMigrations(options.dir ?? MIGRATIONS_DIR).map((migration) => ({ migration, statements: clusterFormOf(migration, target.cluster) }));
  await checkShards(target);
  const checksums: Map<number, Set<string>>[] = [];
  for (const shard of target.shards) {
    await prepareRecord(shard, database);
    checksums.push(await recordedChecksums(shard, database));
  }
  const report: MigrationReport = { database, applied: [], alreadyApplied: [], readOnlyUser: "" };
  for (const { migration, statements } of plan) {
    let applied = false;
    for (const [index, shard] of target.shards.entries()) {
      if (isRecorded(checksums[index]!, migration, migration.clusterChecksum)) continue;
      await applyMigration(shard, database, migration, statements, migration.clusterChecksum);
      applied = true;
    }
    (applied ? report.applied : report.alreadyApplied).push(migrationLabel(migration));
  }
  const users = new Set<string>();
  for (const shard of target.shards) users.add(await ensureReadOnlyUser(shard, database, options.analystPassword));
  report.readOnlyUser = [...users].join("; ");
  return report;
}

/**
 * Migrates the database the configuration names: sharded over CLICKHOUSE_SHARD_URLS when
 * CLICKHOUSE_CLUSTER is set (one client per shard, closed after), else through `client`.
 */
export async function migrateConfigured(
  config: ClickHouseConnection & Pick<Config, "CLICKHOUSE_DATABASE" | "CLICKHOUSE_SHARD_URLS" | "CLICKHOUSE_ANALYST_PASSWORD">,
  client: ClickHouseClient,
): Promise<MigrationReport> {
  const options = { analystPassword: config.CLICKHOUSE_ANALYST_PASSWORD };
  if (!config.CLICKHOUSE_CLUSTER) return migrate(client, config.CLICKHOUSE_DATABASE, options);
  const shards = createShardClients(config);
  try {
    return await migrateCluster({ cluster: config.CLICKHOUSE_CLUSTER, shards }, config.CLICKHOUSE_DATABASE, options);
  } finally {
    await Promise.all(shards.map((shard) => shard.close()));
  }
}

function checkIdentifier(what: string, name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new MigrationError(`${what} name ${JSON.stringify(name)} is not an identifier`);
}

/** The database and its record of applied migrations. */
async function prepareRecord(client: ClickHouseClient, database: string): Promise<void> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.migrations (version UInt32, name String, checksum String, applied_at DateTime) ENGINE = MergeTree ORDER BY version`,
  });
}

/** Every checksum recorded per version: rows recorded twice agree, an edited file does not. */
async function recordedChecksums(client: ClickHouseClient, database: string): Promise<Map<number, Set<string>>> {
  const checksums = new Map<number, Set<string>>();
  for (const table of await recordTables(client, database)) {
    for (const row of await queryRows<{ version: number; checksum: string }>(client, `SELECT version, checksum FROM ${database}.${table}`)) {
      const version = Number(row.version);
      checksums.set(version, (checksums.get(version) ?? new Set()).add(row.checksum));
    }
  }
  return checksums;
}

/** Whether the migration is recorded (with `checksum`); a record with another checksum is an error. */
function isRecorded(checksums: ReadonlyMap<number, ReadonlySet<string>>, migration: Migration, checksum: string): boolean {
  const recorded = checksums.get(migration.version);
  if (!recorded) return false;
  const other = [...recorded].find((found) => found !== checksum);
  if (other !== undefined) {
    throw new MigrationError(`migration ${migrationLabel(migration)} was applied with checksum ${other} but the file now has ${checksum}; add a new migration instead of editing an applied one`);
  }
  return true;
}

/** Runs the statements (placeholders filled), then records the migration. */
async function applyMigration(client: ClickHouseClient, database: string, migration: Migration, statements: readonly string[], checksum: string): Promise<void> {
  for (const statement of statements) {
    try {
      await runBesideOtherMigrations(client, statement.replaceAll("{{db}}", database));
    } catch (error) {
      throw new MigrationError(`migration ${migrationLabel(migration)} failed: ${(error as Error).message}\n--- statement ---\n${statement.slice(0, 400)}`);
    }
  }
  await client.command({
    query: `INSERT INTO ${database}.migrations VALUES (${migration.version}, ${quoteString(migration.name)}, ${quoteString(checksum)}, now())`,
  });
}

/** The migration's statements on the shards of `cluster`. */
function clusterFormOf(migration: Migration, cluster: string): string[] {
  try {
    return migration.statements.flatMap((statement) => clusterStatements(statement, cluster, migration.clusterViews));
  } catch (error) {
    throw new MigrationError(`migration ${migrationLabel(migration)}: ${(error as Error).message}`);
  }
}

/**
 * The clients must reach the cluster's shards, each exactly once: a shard left out would lack the
 * tables the others' Distributed tables read. Each server names the shard it is (system.clusters,
 * is_local) and how many the cluster has.
 */
async function checkShards(target: ShardedClickHouse): Promise<void> {
  const seen = new Map<number, number>();
  for (const [index, shard] of target.shards.entries()) {
    const rows = await queryRows<{ shard_num: number; is_local: number }>(
      shard,
      `SELECT shard_num, is_local FROM system.clusters WHERE cluster = ${quoteString(target.cluster)}`,
    );
    const where = `shard client ${index + 1} of ${target.shards.length}`;
    if (rows.length === 0) throw new MigrationError(`${where}: its server has no cluster ${target.cluster} in its remote_servers`);
    const count = new Set(rows.map((row) => Number(row.shard_num))).size;
    if (count !== target.shards.length) throw new MigrationError(`${where}: cluster ${target.cluster} has ${count} shards there, but ${target.shards.length} shard URLs are given`);
    const local = [...new Set(rows.filter((row) => Number(row.is_local) === 1).map((row) => Number(row.shard_num)))];
    if (local.length !== 1) throw new MigrationError(`${where}: its server is ${local.length === 0 ? "none" : "more than one"} of the shards of ${target.cluster}`);
    const other = seen.get(local[0]!);
    if (other !== undefined) throw new MigrationError(`shard clients ${other + 1} and ${index + 1} reach the same shard ${local[0]} of ${target.cluster}`);
    seen.set(local[0]!, index);
  }
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
