import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { customerEventToRecord, stageChangeToRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, replayPopulation, type CustomerEvent } from "@clm/core";
import { eventRow, readMigrations, serializeRow, snapshotRow, transitionRow } from "@clm/clickhouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { expectCohortViews, expectStageViews, viewSnapshot } from "./support/cohort-checks.ts";
import type { TransitionFact } from "./support/cohort-expectations.ts";

/**
 * The same migrations and views on a current ClickHouse: chDB (ClickHouse 26.x embedded, from the
 * npm registry, installed into .stack/chdb by scripts/ensure-chdb.sh), because the local stack's
 * server is Debian's 18.16 and no current server is installable on these machines. The whole
 * CDNOW log and the core's stage changes go in — with copies, as at-least-once delivery writes
 * them — and every view must equal the independent computation, as on 18.16.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHDB = resolve(ROOT, process.env.CLM_STACK_DIR ?? ".stack", "chdb/node_modules/chdb/index.mjs");
const DB = "clm_current";

interface ChdbSession {
  query(sql: string, format?: string): string;
  cleanup(): void;
}
let session: ChdbSession;
let dataDir: string;
let events: CustomerEvent[];
let transitions: TransitionFact[];

const run = (sql: string, format = "JSONEachRow") => session.query(sql, format);
const rows = async (sql: string) =>
  run(sql)
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const insert = (table: string, lines: readonly string[]) => {
  for (let start = 0; start < lines.length; start += 20_000) run(`INSERT INTO ${DB}.${table} FORMAT JSONEachRow\n${lines.slice(start, start + 20_000).join("\n")}`, "CSV");
};

beforeAll(async () => {
  if (!existsSync(CHDB)) throw new Error(`chDB is not installed at ${CHDB}: run 'bash scripts/ensure-chdb.sh' (npm test does)`);
  const { Session } = (await import(pathToFileURL(CHDB).href)) as { Session: new (path: string) => ChdbSession };
  dataDir = mkdtempSync(join(tmpdir(), "clm-chdb-"));
  session = new Session(dataDir);
  events = await cdnowEvents("master");
}, 120_000);

afterAll(() => {
  session?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("migrations and views on a current ClickHouse (chDB)", () => {
  it("applies every migration, twice without harm, on a current version", () => {
    const version = run("SELECT version()", "CSV").trim().replace(/"/g, "");
    expect(Number(version.split(".")[0])).toBeGreaterThanOrEqual(24);
    run(`CREATE DATABASE IF NOT EXISTS ${DB}`);
    for (let pass = 0; pass < 2; pass++) {
      for (const migration of readMigrations()) for (const statement of migration.statements) run(statement.replaceAll("{{db}}", DB));
    }
    const tables = run(`SELECT name FROM system.tables WHERE database = '${DB}' ORDER BY name`, "CSV");
    for (const name of ["events", "stage_transitions", "customer_snapshots", "purchase_days_agg", "cohort_retention_monthly", "churn_winback_monthly"]) expect(tables).toContain(`"${name}"`);
    console.log(`chDB ClickHouse ${version}: ${readMigrations().length} migrations applied`);
  });

  it("gives the same exact cohort and stage numbers as on 18.16, with copies written", async () => {
    const written = Date.UTC(2026, 0, 1);
    const eventLines = events.map((event, index) => serializeRow(eventRow(customerEventToRecord(event, null), { partition: 0, offset: String(index) }, written)));
    const replay = replayPopulation(events, DEFAULT_LIFECYCLE_CONFIG);
    const records = replay.transitions.map((transition) => stageChangeToRecord(transition));
    transitions = records.map((record) => ({ transitionId: record.transitionId, customerId: record.customerId, version: record.version, from: record.fromStage, to: record.toStage, occurredAt: record.occurredAt }));
    const transitionLines = records.map((record, index) => serializeRow(transitionRow(record, { partition: 0, offset: String(index) }, written)));
    const snapshotLines = records.map((record) => serializeRow(snapshotRow(record, written)));
    insert("events", eventLines);
    insert("stage_transitions", transitionLines);
    insert("customer_snapshots", snapshotLines);
    // At-least-once delivery: every 50th row written again, in separate inserts, as a redelivery would.
    insert("events", eventLines.filter((_, index) => index % 50 === 0));
    insert("stage_transitions", transitionLines.filter((_, index) => index % 50 === 0));

    const count = async (sql: string) => Number((await rows(sql))[0]!.n);
    expect(await count(`SELECT count() AS n FROM ${DB}.events_unique`)).toBe(events.length);
    expect(await count(`SELECT sum(purchases) AS n FROM ${DB}.customer_purchase_days`)).toBe(events.length);
    expect(await count(`SELECT count() AS n FROM ${DB}.stage_transitions_unique`)).toBe(transitions.length);
    expect(await count(`SELECT count() AS n FROM ${DB}.customer_latest`)).toBe(23_570);

    const snapshot = await viewSnapshot(rows, DB);
    expectCohortViews(snapshot, events);
    expectStageViews(snapshot, transitions);
  }, 300_000);
});
