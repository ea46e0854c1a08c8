import { describe, expect, it } from "vitest";
import { readMigrations, splitStatements } from "./migrate.ts";

describe("ClickHouse migrations", () => {
  it("are numbered without gaps, and every statement is idempotent and database-relative", () => {
    const migrations = readMigrations();
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1));
    for (const migration of migrations) {
      expect(migration.statements.length).toBeGreaterThan(0);
      for (const statement of migration.statements) {
        expect(statement).toMatch(/^(CREATE (TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS \{\{db\}\}\.|DROP (TABLE|VIEW) IF EXISTS \{\{db\}\}\.)/);
        expect(statement).not.toMatch(/\bclm\./); // never a hard-coded database
      }
    }
  });

  it("splits on semicolons at line ends and drops comment lines", () => {
    expect(splitStatements("-- a comment; with a semicolon\nCREATE A;\n\nCREATE B\n  (x);\n")).toEqual(["CREATE A", "CREATE B\n  (x)"]);
  });
});
