import { describe, expect, it } from "vitest";
import { columnAddition, readMigrations, splitStatements } from "./migrate.ts";

describe("ClickHouse migrations", () => {
  it("are numbered without gaps, and every statement is idempotent and database-relative", () => {
    const migrations = readMigrations();
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1));
    for (const migration of migrations) {
      expect(migration.statements.length).toBeGreaterThan(0);
      for (const statement of migration.statements) {
        expect(statement).toMatch(/^(CREATE (TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS \{\{db\}\}\.|DROP (TABLE|VIEW) IF EXISTS \{\{db\}\}\.|ALTER TABLE \{\{db\}\}\.\w+ ADD COLUMN IF NOT EXISTS \w+ )/);
        // One column per ALTER: migrate checks that column before it runs the statement.
        if (statement.startsWith("ALTER")) expect(columnAddition(statement.replaceAll("{{db}}", "db"))).not.toBeNull();
        expect(statement).not.toMatch(/\bclm\./); // never a hard-coded database
      }
    }
  });

  it("splits on semicolons at line ends and drops comment lines", () => {
    expect(splitStatements("-- a comment; with a semicolon\nCREATE A;\n\nCREATE B\n  (x);\n")).toEqual(["CREATE A", "CREATE B\n  (x)"]);
  });

  it("reads a column addition so servers without ADD COLUMN IF NOT EXISTS (18.16) get it only when the column is missing", () => {
    expect(columnAddition("ALTER TABLE db1.customer_snapshots ADD COLUMN IF NOT EXISTS p_alive Nullable(Float64)")).toEqual({
      database: "db1",
      table: "customer_snapshots",
      column: "p_alive",
      withoutIfNotExists: "ALTER TABLE db1.customer_snapshots ADD COLUMN p_alive Nullable(Float64)",
    });
    expect(columnAddition("CREATE TABLE IF NOT EXISTS db1.t (a String) ENGINE = Log")).toBeNull();
  });
});
