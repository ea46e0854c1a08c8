import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { clusterStatements, CUSTOMER_SHARDING_KEY, SHARDING_KEYS } from "./cluster-ddl.ts";
import { readMigrations } from "./migrate.ts";

describe("cluster statements (a sharded database)", () => {
  it("makes a table the shard's own table plus a Distributed table of the old name, sharded by its key", () => {
    const statement = "CREATE TABLE IF NOT EXISTS {{db}}.events\n(\n    customer_id String\n)\nENGINE = ReplacingMergeTree\nORDER BY customer_id";
    expect(clusterStatements(statement, "clm")).toEqual([
      "CREATE TABLE IF NOT EXISTS {{db}}.events_local\n(\n    customer_id String\n)\nENGINE = ReplacingMergeTree\nORDER BY customer_id",
      "CREATE TABLE IF NOT EXISTS {{db}}.events AS {{db}}.events_local ENGINE = Distributed(clm, {{db}}, events_local, cityHash64(customer_id))",
    ]);
    expect(clusterStatements("CREATE TABLE IF NOT EXISTS {{db}}.value_model_fits (model_version String) ENGINE = ReplacingMergeTree ORDER BY model_version", "c2")[1]).toBe(
      "CREATE TABLE IF NOT EXISTS {{db}}.value_model_fits AS {{db}}.value_model_fits_local ENGINE = Distributed(c2, {{db}}, value_model_fits_local, cityHash64(model_version))",
    );
  });

  it("points a materialized view at the shard's own tables, so each shard aggregates its own inserts", () => {
    const statement = "CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.purchase_days_mv TO {{db}}.purchase_days_agg AS\nSELECT customer_id FROM {{db}}.events WHERE event_type = 'purchase'";
    expect(clusterStatements(statement, "clm")).toEqual([
      "CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.purchase_days_mv TO {{db}}.purchase_days_agg_local AS\nSELECT customer_id FROM {{db}}.events_local WHERE event_type = 'purchase'",
    ]);
  });

  it("keeps a view over the Distributed tables, unless the migration gives its cluster text", () => {
    const view = "CREATE VIEW IF NOT EXISTS {{db}}.events_unique AS\nSELECT customer_id FROM {{db}}.events GROUP BY customer_id";
    expect(clusterStatements(view, "clm")).toEqual([view]);
    expect(clusterStatements(view, "clm", new Map([["events_unique", "CREATE VIEW IF NOT EXISTS {{db}}.events_unique AS SELECT 1"]]))).toEqual([
      "CREATE VIEW IF NOT EXISTS {{db}}.events_unique AS SELECT 1",
    ]);
    expect(clusterStatements("DROP TABLE IF EXISTS {{db}}.customer_latest", "clm")).toEqual(["DROP TABLE IF EXISTS {{db}}.customer_latest"]);
  });

  it("changes a column on the shard's table first, then on the Distributed table that reads it", () => {
    expect(clusterStatements("ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS p_alive Nullable(Float64)", "clm")).toEqual([
      "ALTER TABLE {{db}}.customer_snapshots_local ADD COLUMN IF NOT EXISTS p_alive Nullable(Float64)",
      "ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS p_alive Nullable(Float64)",
    ]);
  });

  it("refuses what it has no cluster form for, saying what to add", () => {
    expect(() => clusterStatements("CREATE TABLE IF NOT EXISTS {{db}}.new_table (a String) ENGINE = MergeTree ORDER BY a", "clm")).toThrow(/new_table has no sharding key: add it to SHARDING_KEYS/);
    expect(() => clusterStatements("CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.mv TO {{db}}.target AS SELECT a FROM {{db}}.events", "clm")).toThrow(/target has no sharding key/);
    expect(() => clusterStatements("DROP TABLE IF EXISTS {{db}}.events", "clm")).toThrow(/DROP TABLE of the sharded table events/);
    expect(() => clusterStatements("ALTER TABLE {{db}}.events DELETE WHERE 1", "clm")).toThrow(/no cluster form for this statement/);
    expect(() => clusterStatements("CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.mv ENGINE = SummingMergeTree ORDER BY a AS SELECT a FROM {{db}}.events", "clm")).toThrow(/no cluster form/);
    expect(() => clusterStatements("RENAME TABLE {{db}}.a TO {{db}}.b", "clm")).toThrow(/no cluster form/);
  });

  it("has a cluster form for every statement of every migration; per-customer tables are sharded by customer; views read only Distributed tables", () => {
    const created: string[] = [];
    for (const migration of readMigrations()) {
      for (const statement of migration.statements) {
        const forms = clusterStatements(statement, "clm", migration.clusterViews);
        const table = /^CREATE TABLE IF NOT EXISTS \{\{db\}\}\.(\w+)/.exec(statement)?.[1];
        if (table !== undefined) {
          created.push(table);
          if (/^\s+customer_id\s+String,/m.test(statement)) expect(SHARDING_KEYS[table], table).toBe(CUSTOMER_SHARDING_KEY);
        }
        if (statement.startsWith("CREATE VIEW")) for (const form of forms) expect(form).not.toMatch(/_local\b/);
      }
    }
    expect(created.sort()).toEqual(Object.keys(SHARDING_KEYS).sort());
  });

  it("gives customer_purchase_days its cluster text: 0003's view with the copy check as GLOBAL IN, nothing else changed", () => {
    const views = readMigrations().find((migration) => migration.version === 3)!;
    const single = views.statements.find((statement) => statement.startsWith("CREATE VIEW IF NOT EXISTS {{db}}.customer_purchase_days "))!;
    expect([...views.clusterViews.keys()]).toEqual(["customer_purchase_days"]);
    expect(views.clusterViews.get("customer_purchase_days")).toBe(single.replace(") IN\n", ") GLOBAL IN\n"));
    expect(views.clusterChecksum).not.toBe(views.checksum);
    for (const migration of readMigrations().filter((migration) => migration.version !== 3)) expect(migration.clusterChecksum).toBe(migration.checksum);
  });
});

describe("cluster texts of views (migrations/cluster/)", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const withFiles = (base: string, cluster: string) => {
    dir = mkdtempSync(join(tmpdir(), "clm-migrations-"));
    mkdirSync(join(dir, "cluster"));
    writeFileSync(join(dir, "0001_views.sql"), base);
    writeFileSync(join(dir, "cluster", "0001_views.sql"), cluster);
    return `${dir}/`;
  };
  const base = "CREATE VIEW IF NOT EXISTS {{db}}.v AS SELECT 1;\n";

  it("reads them beside the migration and counts them in the checksum a sharded database records", () => {
    const [migration] = readMigrations(withFiles(base, "-- why\nCREATE VIEW IF NOT EXISTS {{db}}.v AS SELECT 2;\n"));
    expect(migration!.clusterViews).toEqual(new Map([["v", "CREATE VIEW IF NOT EXISTS {{db}}.v AS SELECT 2"]]));
    expect(migration!.clusterChecksum).not.toBe(migration!.checksum);
  });

  it("refuses one that is not a view, or a view the migration does not create", () => {
    expect(() => readMigrations(withFiles(base, "CREATE TABLE IF NOT EXISTS {{db}}.t (a String) ENGINE = Log;\n"))).toThrow(/not a CREATE VIEW/);
    rmSync(dir, { recursive: true, force: true });
    expect(() => readMigrations(withFiles(base, "CREATE VIEW IF NOT EXISTS {{db}}.w AS SELECT 2;\n"))).toThrow(/cluster text of w, which 0001_views.sql does not create/);
  });
});
