/**
 * The migrations' statements on a sharded database (CLICKHOUSE_CLUSTER set), per statement kind.
 *
 * Why a transformation and not a second set of migration files: the files are published DDL whose
 * checksums every database records, and single-node databases must run exactly them. Why it is safe:
 * it reads only each statement's head (`CREATE TABLE IF NOT EXISTS {{db}}.name`, …), matched at the
 * start of the statement, and every reference to a table is `{{db}}.name` (the migrations' rule, the
 * placeholder `migrate` fills), so renaming a table never touches free SQL. A statement of a kind not
 * listed here, or a table without a sharding key, stops the migration with a message saying what to
 * add — nothing passes through unexamined. The one view whose single-node text is not right on shards
 * has its cluster text written out in migrations/cluster/ (see there), not patched by a pattern.
 */

/** The sharding key of a table of one customer's rows: all of a customer's rows live on one shard. */
export const CUSTOMER_SHARDING_KEY = "cityHash64(customer_id)";

/**
 * Every table of the migrations and how its rows are spread over the shards. Per-customer tables by
 * customer. value_model_fits has no customer (one row per fitted model, a few a day): by model
 * version, so the copies of one publish land on one shard, where background merges collapse them;
 * it is read whole, through its Distributed table, never from one shard alone.
 */
export const SHARDING_KEYS: Readonly<Record<string, string>> = {
  events: CUSTOMER_SHARDING_KEY,
  stage_transitions: CUSTOMER_SHARDING_KEY,
  customer_snapshots: CUSTOMER_SHARDING_KEY,
  purchase_days_agg: CUSTOMER_SHARDING_KEY,
  value_predictions: CUSTOMER_SHARDING_KEY,
  value_tier_changes: CUSTOMER_SHARDING_KEY,
  risk_changes: CUSTOMER_SHARDING_KEY,
  audience_changes: CUSTOMER_SHARDING_KEY,
  value_model_fits: "cityHash64(model_version)",
};

/** A shard's own table under the Distributed table `table`. */
export function localTable(table: string): string {
  return `${table}_local`;
}

export class ClusterDdlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClusterDdlError";
  }
}

const NAME = "([A-Za-z_][A-Za-z0-9_]*)";
const DB = "\\{\\{db\\}\\}\\.";
const CREATE_TABLE = new RegExp(`^CREATE\\s+TABLE\\s+IF\\s+NOT\\s+EXISTS\\s+${DB}${NAME}\\s`, "i");
const CREATE_MATERIALIZED_VIEW = new RegExp(`^CREATE\\s+MATERIALIZED\\s+VIEW\\s+IF\\s+NOT\\s+EXISTS\\s+${DB}${NAME}\\s+TO\\s+${DB}${NAME}\\s+AS\\s`, "i");
const CREATE_VIEW = new RegExp(`^CREATE\\s+VIEW\\s+IF\\s+NOT\\s+EXISTS\\s+${DB}${NAME}\\s+AS\\s`, "i");
const DROP_TABLE = new RegExp(`^DROP\\s+TABLE\\s+IF\\s+EXISTS\\s+${DB}${NAME}$`, "i");
const ALTER_COLUMN = new RegExp(`^ALTER\\s+TABLE\\s+${DB}${NAME}\\s+(ADD|DROP|MODIFY)\\s+COLUMN\\s`, "i");
const TABLE_REFERENCE = new RegExp(`${DB}${NAME}`, "g");

/** The name a `CREATE VIEW IF NOT EXISTS {{db}}.name AS …` statement creates, or null for any other statement. */
export function viewName(statement: string): string | null {
  return CREATE_VIEW.exec(statement)?.[1] ?? null;
}

function shardingKey(table: string): string {
  const key = SHARDING_KEYS[table];
  if (key === undefined) {
    throw new ClusterDdlError(`table ${table} has no sharding key: add it to SHARDING_KEYS in packages/clickhouse/src/cluster-ddl.ts (a table of customers' rows: ${CUSTOMER_SHARDING_KEY})`);
  }
  return key;
}

/**
 * What one statement of a migration (with its `{{db}}` placeholders) becomes on every shard of
 * `cluster`, in order:
 * - `CREATE TABLE {{db}}.t` → the same table as `t_local` (same engine, the shard's rows), then
 *   `t` as `Distributed(cluster, db, t_local, key)` over every shard's `t_local`;
 * - `CREATE MATERIALIZED VIEW … TO {{db}}.target AS SELECT … FROM {{db}}.source` → the same over the
 *   shard's local tables: each shard aggregates its own inserts into its own target;
 * - `CREATE VIEW` → unchanged, over the Distributed tables (so it reads every shard), or the view's
 *   cluster text when `clusterViews` has one;
 * - `ALTER TABLE {{db}}.t ADD|DROP|MODIFY COLUMN …` → on `t_local`, then on `t`;
 * - `DROP TABLE {{db}}.view` → unchanged (the migrations drop views only).
 */
export function clusterStatements(statement: string, cluster: string, clusterViews: ReadonlyMap<string, string> = new Map()): string[] {
  const table = CREATE_TABLE.exec(statement);
  if (table) {
    const name = table[1]!;
    const key = shardingKey(name);
    const head = table[0];
    return [
      head.replace(`{{db}}.${name}`, `{{db}}.${localTable(name)}`) + statement.slice(head.length),
      `CREATE TABLE IF NOT EXISTS {{db}}.${name} AS {{db}}.${localTable(name)} ENGINE = Distributed(${cluster}, {{db}}, ${localTable(name)}, ${key})`,
    ];
  }
  const materialized = CREATE_MATERIALIZED_VIEW.exec(statement);
  if (materialized) {
    const name = materialized[1]!;
    // Every table the view reads or writes becomes the shard's own; its own name stays.
    const onShard = statement.replace(TABLE_REFERENCE, (reference, referenced: string) => {
      if (referenced === name) return reference;
      shardingKey(referenced);
      return `{{db}}.${localTable(referenced)}`;
    });
    return [onShard];
  }
  const view = viewName(statement);
  if (view !== null) return [clusterViews.get(view) ?? statement];
  const alter = ALTER_COLUMN.exec(statement);
  if (alter) {
    const name = alter[1]!;
    shardingKey(name);
    return [statement.replace(`{{db}}.${name}`, `{{db}}.${localTable(name)}`), statement];
  }
  const drop = DROP_TABLE.exec(statement);
  if (drop) {
    if (drop[1]! in SHARDING_KEYS) throw new ClusterDdlError(`DROP TABLE of the sharded table ${drop[1]} has no cluster form yet: it is two tables (${localTable(drop[1]!)} and its Distributed table) on every shard`);
    return [statement];
  }
  throw new ClusterDdlError(`no cluster form for this statement (packages/clickhouse/src/cluster-ddl.ts knows CREATE TABLE, CREATE MATERIALIZED VIEW … TO, CREATE VIEW, ALTER TABLE … COLUMN and DROP TABLE of a view): ${statement.slice(0, 120)}`);
}
