import { randomUUID } from "node:crypto";
import { createClickHouse, migrate, migrationLabel, queryRows, quoteString, readMigrations } from "@clm/clickhouse";
import { afterAll, describe, expect, it } from "vitest";
import { isolatedConfig } from "./support/pipeline.ts";

const config = isolatedConfig();
const clients = Array.from({ length: 3 }, () => createClickHouse(config));
const databases: string[] = [];
const freshDatabase = () => {
  databases.push(`migrate_${randomUUID().replaceAll("-", "").slice(0, 12)}`);
  return databases.at(-1)!;
};
const labels = readMigrations().map(migrationLabel);
afterAll(async () => {
  for (const database of databases) await clients[0]!.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  for (const client of clients) await client.close();
});

describe("migrate", () => {
  it("migrates a new database from three sinks at once, then finds nothing left to apply", async () => {
    // Sinks started together each run it at start. The record was a TinyLog once, and concurrent
    // inserts broke it ("File not found: …/tmp_sizes.json") in 3 of 5 rounds.
    for (let round = 0; round < 3; round++) {
      const database = freshDatabase();
      const reports = await Promise.all(clients.map((client) => migrate(client, database)));
      for (const report of reports) expect([...report.applied, ...report.alreadyApplied].sort()).toEqual(labels);
      const again = await migrate(clients[0]!, database);
      expect(again.applied).toEqual([]);
      expect(again.alreadyApplied).toEqual(labels);
      const tables = await queryRows<{ name: string }>(clients[0]!, `SELECT name FROM system.tables WHERE database = ${quoteString(database)} AND name = 'events'`);
      expect(tables).toHaveLength(1);
    }
  });

  it("reads what databases migrated before recorded in schema_migrations, and still refuses an edited file", async () => {
    const database = freshDatabase();
    const [client] = clients as [ReturnType<typeof createClickHouse>];
    await migrate(client, database);
    // A database as the earlier migrate left it: the record in a TinyLog schema_migrations only.
    await client.command({ query: `DROP TABLE ${database}.migrations` });
    await client.command({ query: `CREATE TABLE ${database}.schema_migrations (version UInt32, name String, checksum String, applied_at DateTime) ENGINE = TinyLog` });
    const values = readMigrations().map((migration) => `(${migration.version}, ${quoteString(migration.name)}, ${quoteString(migration.checksum)}, now())`);
    await client.command({ query: `INSERT INTO ${database}.schema_migrations VALUES ${values.join(", ")}` });
    const report = await migrate(client, database);
    expect(report.applied).toEqual([]);
    expect(report.alreadyApplied).toEqual(labels);

    await client.command({ query: `INSERT INTO ${database}.schema_migrations VALUES (1, 'raw_tables', 'edited', now())` });
    await expect(migrate(client, database)).rejects.toThrow(/was applied with checksum/);
  });
});
