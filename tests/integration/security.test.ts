import { execFileSync } from "node:child_process";
import { createClickHouse, migrate, queryRows } from "@clm/sink";
import { afterAll, describe, expect, it } from "vitest";
import { envOf, startService } from "./support/child-service.ts";
import { isolatedConfig } from "./support/pipeline.ts";

/**
 * The analysts' read-only ClickHouse user, and no secret in any log. (API keys on ingest:
 * ingest.test.ts and ingest-process.test.ts.)
 */
const config = isolatedConfig({ LOG_LEVEL: "debug" });
const admin = createClickHouse(config);
const analyst = createClickHouse({ ...config, CLICKHOUSE_USER: "clm_analyst", CLICKHOUSE_PASSWORD: "clm-analyst-dev" });
const other = `test_security_${Date.now().toString(36)}`;

afterAll(async () => {
  await admin.command({ query: `DROP DATABASE IF EXISTS ${other}` });
  await admin.close();
  await analyst.close();
});

describe("security", () => {
  it("gives analysts a user that reads the clm views and can change nothing", async () => {
    const report = await migrate(admin, "clm");
    expect(report.readOnlyUser).toContain("clm_analyst");
    const rows = await queryRows<{ n: string }>(analyst, "SELECT count() AS n FROM clm.cohort_retention_monthly");
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(0);
    await expect(analyst.command({ query: "INSERT INTO clm.migrations VALUES (999, 'x', 'x', now())" })).rejects.toThrow(/readonly|read-only/i);
    await expect(analyst.command({ query: "CREATE TABLE clm.analyst_table (x UInt8) ENGINE = Memory" })).rejects.toThrow(/readonly|read-only/i);
    await expect(analyst.command({ query: "DROP TABLE clm.events" })).rejects.toThrow(/readonly|read-only/i);
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${other}` });
    await admin.command({ query: `CREATE TABLE IF NOT EXISTS ${other}.t (x UInt8) ENGINE = Memory` });
    await expect(queryRows(analyst, `SELECT * FROM ${other}.t`)).rejects.toThrow(/access|denied|not allowed/i);
    const impostor = createClickHouse({ ...config, CLICKHOUSE_USER: "clm_analyst", CLICKHOUSE_PASSWORD: "wrong" });
    await expect(queryRows(impostor, "SELECT 1")).rejects.toThrow(/password|authentic/i);
    await impostor.close();
  });

  it("never writes a password or key into a service's logs, even at debug level or on a configuration error", async () => {
    const SECRET = "s3cret-analyst-password-do-not-log";
    const migrateRun = startService("services/sink/src/main.ts", envOf(config, { CLICKHOUSE_ANALYST_PASSWORD: SECRET }), ["migrate"]);
    expect(await migrateRun.exited).toBe(0);
    expect(migrateRun.output()).toContain("ClickHouse migrations");
    expect(migrateRun.output()).not.toContain(SECRET);

    const broken = startService("services/sink/src/main.ts", envOf(config, { CLICKHOUSE_URL: "not a url", CLICKHOUSE_PASSWORD: SECRET, INGEST_API_KEYS: `${SECRET}-key` }), ["migrate"]);
    expect(await broken.exited).toBe(1);
    expect(broken.output()).toContain("CLICKHOUSE_URL");
    expect(broken.output()).not.toContain(SECRET);
  });

  it("binds every server of the local stack to loopback only", () => {
    const ports = [
      Number(config.KAFKA_BROKERS[0]!.split(":").at(-1)),
      Number(process.env.CLM_KAFKA_CONTROLLER_PORT ?? 19093),
      Number(new URL(config.SCHEMA_REGISTRY_URL).port),
      Number(new URL(config.REDIS_URL).port),
      Number(new URL(config.CLICKHOUSE_URL).port),
      Number(process.env.CLM_CLICKHOUSE_TCP_PORT ?? 19000),
    ];
    const listeners = execFileSync("ss", ["-ltnH"], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[3])
      .filter((address): address is string => address !== undefined);
    for (const port of ports) {
      const bound = listeners.filter((address) => address.endsWith(`:${port}`));
      expect(bound.length, `something listens on port ${port}`).toBeGreaterThan(0);
      for (const address of bound) expect(address, `port ${port}`).toMatch(/^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):\d+$/);
    }
  });
});
