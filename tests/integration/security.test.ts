import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import type { ClickHouseSettings } from "@clickhouse/client";
import { join } from "node:path";
import { createClickHouse, migrate, queryRows, READ_ONLY_USER_SETTINGS } from "@clm/clickhouse";
import { afterAll, describe, expect, it } from "vitest";
import { envOf, startService, type RunningService } from "./support/child-service.ts";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig } from "./support/pipeline.ts";

/**
 * The stack's ClickHouse users — `default` with a generated password, the analysts' read-only user
 * kept inside its database — no secret in any log, and ingest's keys: none by default off loopback,
 * scopes, and open endpoints without customer data. (More on API keys: ingest.test.ts and
 * ingest-process.test.ts; the read-only user on a current ClickHouse: clickhouse-current-access.test.ts.)
 */
const config = isolatedConfig({ LOG_LEVEL: "debug", INGEST_PORT: "0" });
kafkaWithFileTopics(config);
const NO_KEYS = { INGEST_API_KEYS: "", INGEST_READ_API_KEYS: "", INGEST_ADMIN_API_KEYS: "" };

/** Whether the service exits before it listens (it is stopped if it listens). */
async function exitsBeforeListening(service: RunningService): Promise<boolean> {
  const listened = await service.waitForLog("ingest listening").then(
    () => true,
    () => false,
  );
  if (listened) service.child.kill("SIGTERM");
  await service.exited;
  return !listened;
}
const STACK_DIR = process.env.CLM_STACK_DIR ?? ".stack";
const admin = createClickHouse(config);
// The stack writes both passwords into its env file, which the tests load (scripts/test.sh).
const analyst = createClickHouse({ ...config, CLICKHOUSE_USER: "clm_analyst", CLICKHOUSE_PASSWORD: config.CLICKHOUSE_ANALYST_PASSWORD ?? "" });
const other = `test_security_${Date.now().toString(36)}`;
/** How the analyst's probes fail on 18.16 when the profile (readonly = 1), not a missing table or password, refuses them. */
const READONLY_REFUSAL = /readonly mode/i;

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
    // The published development password of earlier stacks opens nothing.
    const published = createClickHouse({ ...config, CLICKHOUSE_USER: "clm_analyst", CLICKHOUSE_PASSWORD: "clm-analyst-dev" });
    await expect(queryRows(published, "SELECT 1")).rejects.toThrow(/password|authentic/i);
    await published.close();

    // Every view the analysts are given answers under the read-only profile.
    const views = await queryRows<{ name: string }>(admin, "SELECT name FROM system.tables WHERE database = 'clm' AND engine = 'View' ORDER BY name");
    expect(views.length).toBeGreaterThanOrEqual(14);
    for (const { name } of views) await queryRows(analyst, `SELECT * FROM clm.${name} LIMIT 1`);
  });

  it("gives the stack's default user a generated password, kept out of the repository and readable only by its owner", async () => {
    expect(config.CLICKHOUSE_PASSWORD).toMatch(/^[0-9a-f]{32}$/);
    expect(config.CLICKHOUSE_ANALYST_PASSWORD).toMatch(/^[0-9a-f]{32}$/);
    expect(config.CLICKHOUSE_ANALYST_PASSWORD).not.toBe(config.CLICKHOUSE_PASSWORD);
    for (const password of ["", "wrong"]) {
      const client = createClickHouse({ ...config, CLICKHOUSE_PASSWORD: password });
      await expect(queryRows(client, "SELECT 1"), `default with password ${JSON.stringify(password)}`).rejects.toThrow(/password/i);
      await client.close();
    }
    expect(await queryRows(admin, "SELECT 1 AS one")).toEqual([{ one: 1 }]);

    for (const file of ["env", "secrets/clickhouse-default", "secrets/clickhouse-analyst"]) {
      expect(statSync(join(STACK_DIR, file)).mode & 0o077, `${file} is readable by its owner only`).toBe(0);
    }
    expect(readFileSync(join(STACK_DIR, "env"), "utf8")).toContain(`CLICKHOUSE_PASSWORD=${config.CLICKHOUSE_PASSWORD}\n`);
    // The server's users file holds only the passwords' hashes.
    const users = readFileSync(join(STACK_DIR, "clickhouse/etc/users.xml"), "utf8");
    for (const password of [config.CLICKHOUSE_PASSWORD, config.CLICKHOUSE_ANALYST_PASSWORD!]) expect(users).not.toContain(password);
  });

  it("keeps the analyst inside the clm database: no remote(), url() or file(), no other database, no user list", async () => {
    const tcpPort = Number(process.env.CLM_CLICKHOUSE_TCP_PORT ?? 19000);
    // remote() would reach other servers, and this one as another user (the probe used `default`).
    await expect(queryRows(analyst, `SELECT * FROM remote('127.0.0.1:${tcpPort}', system.databases, 'default', '')`)).rejects.toThrow(READONLY_REFUSAL);
    await expect(queryRows(analyst, `SELECT * FROM remote('127.0.0.1:${tcpPort}', clm.migrations)`)).rejects.toThrow(READONLY_REFUSAL);
    // url() would reach every loopback service (here the registry) through ClickHouse.
    await expect(queryRows(analyst, `SELECT * FROM url('${config.SCHEMA_REGISTRY_URL}/subjects', CSV, 'line String')`)).rejects.toThrow(READONLY_REFUSAL);
    // file() would read the server's user_files directory.
    await expect(queryRows(analyst, "SELECT * FROM file('probe.csv', CSV, 'line String')")).rejects.toThrow(READONLY_REFUSAL);

    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${other}` });
    await admin.command({ query: `CREATE TABLE IF NOT EXISTS ${other}.t (x UInt8) ENGINE = Memory` });
    await expect(queryRows(analyst, `SELECT * FROM ${other}.t`)).rejects.toThrow(/access|denied|not allowed/i);
    await expect(queryRows(analyst, "SELECT * FROM default.t")).rejects.toThrow(/access|denied|not allowed/i);
    // 18.16 has no system.users (users live in users.xml, as hashes); current servers refuse it without SHOW USERS.
    await expect(queryRows(analyst, "SELECT * FROM system.users")).rejects.toThrow(/system\.users|SHOW USERS/);
  });

  it("fixes the analyst's limits: max_execution_time and max_memory_usage can be neither raised nor lifted (0)", async () => {
    const changes: [string, string][] = [
      ["max_execution_time", "0"],
      ["max_execution_time", "3600"],
      ["max_memory_usage", "0"],
      ["max_memory_usage", "16000000000"],
      ["readonly", "0"],
      ["readonly", "2"],
    ];
    for (const [name, value] of changes) {
      // As the HTTP interface's URL parameters (how clients send settings) …
      const clickhouse_settings = { [name]: value } as ClickHouseSettings;
      await expect(analyst.query({ query: "SELECT 1", format: "JSONEachRow", clickhouse_settings }), `${name}=${value}`).rejects.toThrow(READONLY_REFUSAL);
      // … and in the query.
      await expect(queryRows(analyst, `SELECT 1 SETTINGS ${name} = ${value}`), `SETTINGS ${name} = ${value}`).rejects.toThrow(READONLY_REFUSAL);
    }
    await expect(analyst.command({ query: "SET max_execution_time = 0" })).rejects.toThrow(READONLY_REFUSAL);

    // The limits in force are those migrate gives the user on servers with SQL users (analyst.ts).
    const settings = await queryRows<{ name: string; value: string }>(analyst, `SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time', 'max_memory_usage')`);
    expect(Object.fromEntries(settings.map(({ name, value }) => [name, Number(value)]))).toEqual(READ_ONLY_USER_SETTINGS);
  });

  it("never writes a password or key into a service's logs, even at debug level or on a configuration error", async () => {
    const SECRET = "s3cret-analyst-password-do-not-log";
    const migrateRun = startService("services/sink/src/main.ts", envOf(config, { CLICKHOUSE_ANALYST_PASSWORD: SECRET }), ["migrate"]);
    expect(await migrateRun.exited).toBe(0);
    expect(migrateRun.output()).toContain("ClickHouse migrations");
    expect(migrateRun.output()).not.toContain(SECRET);
    expect(migrateRun.output()).not.toContain(config.CLICKHOUSE_PASSWORD);

    const broken = startService("services/sink/src/main.ts", envOf(config, { CLICKHOUSE_URL: "not a url", CLICKHOUSE_PASSWORD: SECRET, INGEST_API_KEYS: `${SECRET}-key`, INGEST_READ_API_KEYS: `${SECRET}-read`, INGEST_ADMIN_API_KEYS: `${SECRET}-admin` }), ["migrate"]);
    expect(await broken.exited).toBe(1);
    expect(broken.output()).toContain("CLICKHOUSE_URL");
    expect(broken.output()).not.toContain(SECRET);
  });

  it("ingest refuses to start without API keys unless it binds to loopback, where only the development key is accepted", async () => {
    for (const host of ["0.0.0.0", "::"]) {
      const exposed = startService("services/ingest/src/main.ts", envOf(config, { ...NO_KEYS, INGEST_HOST: host }));
      expect(await exitsBeforeListening(exposed), `ingest on ${host} without keys`).toBe(true);
      expect(await exposed.exited).toBe(1);
      expect(exposed.output()).toMatch(/INGEST_API_KEYS: required when INGEST_HOST \(.+\) is not a loopback address/);
    }

    const local = startService("services/ingest/src/main.ts", envOf(config, { ...NO_KEYS, INGEST_HOST: "127.0.0.1" }));
    const { port } = JSON.parse(await local.waitForLog("ingest listening")) as { port: number };
    expect(local.output()).toContain("accepting only the development key");
    const base = `http://127.0.0.1:${port}`;
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    expect((await fetch(`${base}/v1/events`, { method: "POST", body: "[]", headers: { "content-type": "application/json", ...as("clm-dev-key") } })).status).toBe(202);
    expect((await fetch(`${base}/v1/customers/nobody`, { headers: as("clm-dev-key") })).status).toBe(404);
    expect((await fetch(`${base}/v1/customers/nobody`, { headers: as("any-other-key") })).status).toBe(401);
    local.child.kill("SIGTERM");
    expect(await local.exited).toBe(0);
  });

  it("ingest keys have scopes; /metrics and /healthz carry no customer id, event id or key; no key is logged", async () => {
    const keys = { write: "s3cret-write-key-4711", read: "s3cret-read-key-4711", both: "s3cret-read-write-key-4711", admin: "s3cret-admin-key-4711" };
    const service = startService(
      "services/ingest/src/main.ts",
      envOf(config, { INGEST_API_KEYS: `${keys.write},${keys.both}`, INGEST_READ_API_KEYS: `${keys.read},${keys.both}`, INGEST_ADMIN_API_KEYS: keys.admin }),
    );
    const { port } = JSON.parse(await service.waitForLog("ingest listening")) as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const customerId = "known-customer-zq81";
    const eventIds = ["known-event-zq81-a", "known-event-zq81-b", "known-event-zq81-bad"];
    const purchase = (eventId: string, amount: string) => ({ eventId, type: "purchase", customerId, occurredAt: "2024-05-01T12:00:00Z", properties: { orderId: `known-order-${eventId}`, amount, currency: "USD" } });
    const post = (key: string) =>
      fetch(`${base}/v1/events`, {
        method: "POST",
        body: JSON.stringify([purchase(eventIds[0]!, "5.00"), purchase(eventIds[1]!, "7.00"), purchase(eventIds[2]!, "-1")]),
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      });
    const read = (path: string, key: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
    const codeOf = async (response: Response) => [response.status, ((await response.json()) as { error?: { code: string } }).error?.code];

    const accepted = await post(keys.write);
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ accepted: 2, rejected: [{ index: 2, eventId: eventIds[2] }] });
    expect((await post(keys.both)).status).toBe(202);
    expect(await codeOf(await post(keys.read))).toEqual([403, "FORBIDDEN"]);
    expect(await codeOf(await post(keys.admin))).toEqual([403, "FORBIDDEN"]);
    expect(await codeOf(await post(`${keys.write}x`))).toEqual([401, "UNAUTHORIZED"]);
    for (const path of [`/v1/customers/${customerId}`, `/v1/customers/${customerId}/transitions`]) {
      expect(await codeOf(await read(path, keys.write)), path).toEqual([403, "FORBIDDEN"]);
      expect(await codeOf(await read(path, keys.admin)), path).toEqual([403, "FORBIDDEN"]);
      // No processor runs here: a read key gets past the scope check to the customer's absence.
      expect(await codeOf(await read(path, keys.read)), path).toEqual([404, "NOT_FOUND"]);
      expect(await codeOf(await read(path, keys.both)), path).toEqual([404, "NOT_FOUND"]);
    }
    expect((await read(`/v1/unknown/${customerId}`, keys.read)).status).toBe(404);

    const metrics = await fetch(`${base}/metrics`);
    const health = await fetch(`${base}/healthz`);
    expect([metrics.status, health.status]).toEqual([200, 200]);
    const open = (await metrics.text()) + (await health.text());
    expect(open).toContain('clm_ingest_events_accepted_total{service="ingest"} 4');
    expect(open).toContain('status="403"');
    for (const secret of [customerId, ...eventIds, "known-order", "zq81", ...Object.values(keys), "s3cret"]) expect(open, secret).not.toContain(secret);

    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(service.output()).not.toContain("s3cret");
  });

  it("binds every server of the local stack to loopback only", () => {
    const ports = [
      Number(config.KAFKA_BROKERS[0]!.split(":").at(-1)),
      Number(process.env.CLM_KAFKA_CONTROLLER_PORT ?? 19093),
      Number(new URL(config.SCHEMA_REGISTRY_URL).port),
      ...config.REDIS_URL.map((url) => Number(new URL(url).port)),
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
