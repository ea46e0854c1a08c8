import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { quoteString, READ_ONLY_PROFILE, READ_ONLY_USER, READ_ONLY_USER_SETTINGS, readMigrations, readOnlyGrants, readOnlyUserStatements } from "@clm/clickhouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The analysts' read-only user on a current ClickHouse (chDB 26.x, embedded; see
 * clickhouse-current.test.ts). chDB keeps users only in a users.xml (`CREATE USER` finds no
 * writable access storage) and runs every query as its `default` user, so the test goes as far as
 * that allows:
 *   - every statement `migrate` sends to create the user parses on the current version;
 *   - a second session whose `default` user holds exactly the grants and fixed settings those
 *     statements give (the same definitions, analyst.ts, written as users.xml) reads the views and is
 *     refused remote(), url(), file(), other databases, system.users, writes and setting changes.
 * Not shown here: system.processes. A current server refuses it to a user without a grant on it
 * (access_control_improvements.select_from_system_db_requires_grant, on by default and in
 * docker-compose.yml); clickhouse-local applies none of those server options and has no second user
 * whose queries could show (docs/reliability.md).
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHDB = resolve(ROOT, process.env.CLM_STACK_DIR ?? ".stack", "chdb/node_modules/chdb/index.mjs");
const DB = "clm";
const OTHER = "other_team";

interface ChdbSession {
  query(sql: string, format?: string): string;
  cleanup(): void;
}
type SessionClass = new (path: string, options?: { connectionArgs?: readonly string[] }) => ChdbSession;

let workDir: string;
let analyst: ChdbSession;
let views: string[];

/** users.xml in which `default` is the read-only user: the profile and grants `migrate` creates, as XML. */
function readOnlyUsersXml(): string {
  const settings = Object.entries(READ_ONLY_USER_SETTINGS);
  return `<clickhouse>
  <profiles>
    <default/>
    <${READ_ONLY_PROFILE}>
      ${settings.map(([name, value]) => `<${name}>${value}</${name}>`).join("\n      ")}
      <constraints>
        ${settings.map(([name]) => `<${name}><readonly/></${name}>`).join("\n        ")}
      </constraints>
    </${READ_ONLY_PROFILE}>
  </profiles>
  <users>
    <default>
      <password></password>
      <profile>${READ_ONLY_PROFILE}</profile>
      <quota>default</quota>
      <grants>
        ${readOnlyGrants(DB).map((grant) => `<query>GRANT ${grant}</query>`).join("\n        ")}
      </grants>
    </default>
  </users>
  <quotas><default/></quotas>
</clickhouse>
`;
}

beforeAll(async () => {
  if (!existsSync(CHDB)) throw new Error(`chDB is not installed at ${CHDB}: run 'bash scripts/ensure-chdb.sh' (npm test does)`);
  const { Session } = (await import(pathToFileURL(CHDB).href)) as { Session: SessionClass };
  workDir = mkdtempSync(join(tmpdir(), "clm-chdb-access-"));
  const dataDir = join(workDir, "data");

  // As the server's administrator: the pipeline's schema, and another team's database.
  const admin = new Session(dataDir);
  admin.query(`CREATE DATABASE IF NOT EXISTS ${DB}`);
  for (const migration of readMigrations()) for (const statement of migration.statements) admin.query(statement.replaceAll("{{db}}", DB));
  admin.query(`CREATE DATABASE IF NOT EXISTS ${OTHER}`);
  admin.query(`CREATE TABLE ${OTHER}.secrets (x String) ENGINE = MergeTree ORDER BY x`);
  admin.query(`INSERT INTO ${OTHER}.secrets VALUES ('not for analysts')`);
  views = admin.query(`SELECT name FROM system.tables WHERE database = '${DB}' AND engine = 'View' ORDER BY name`, "CSV").trim().split("\n").map((line) => line.replace(/"/g, ""));
  admin.cleanup();

  // The same data directory, as the read-only user.
  writeFileSync(join(workDir, "users.xml"), readOnlyUsersXml());
  writeFileSync(join(workDir, "config.xml"), `<clickhouse><users_config>${join(workDir, "users.xml")}</users_config></clickhouse>\n`);
  analyst = new Session(dataDir, { connectionArgs: [`--config-file=${join(workDir, "config.xml")}`] });
}, 120_000);

afterAll(() => {
  analyst?.cleanup();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const refusal = (sql: string): string => {
  try {
    analyst.query(sql, "CSV");
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`the read-only user ran: ${sql}`);
};

describe("the analysts' read-only user on a current ClickHouse (chDB)", () => {
  it("is created by statements the current version parses", () => {
    const statements = readOnlyUserStatements(DB, "pass'word\\1");
    const formatted = statements.map((statement) => analyst.query(`SELECT formatQuery(${quoteString(statement)})`, "TSVRaw").trim());
    expect(formatted[0]).toMatch(new RegExp(`^CREATE SETTINGS PROFILE IF NOT EXISTS \`?${READ_ONLY_PROFILE}\`? SETTINGS readonly = 1 (CONST|READONLY), max_execution_time = 300 (CONST|READONLY), max_memory_usage = 4000000000 (CONST|READONLY)$`));
    expect(formatted.at(-2)).toBe(`REVOKE ALL ON *.* FROM ${READ_ONLY_USER}`);
    expect(formatted.at(-1)).toBe(`GRANT SELECT ON ${DB}.* TO ${READ_ONLY_USER}`);
  });

  it("holds exactly SELECT on the database, and reads every view", () => {
    expect(analyst.query("SHOW GRANTS", "TSVRaw").trim().split("\n")).toEqual(readOnlyGrants(DB).map((grant) => `GRANT ${grant} TO default`));
    expect(views.length).toBeGreaterThanOrEqual(14);
    for (const view of views) analyst.query(`SELECT * FROM ${DB}.${view} LIMIT 1`);
  });

  it("is refused remote(), url(), file(), other databases and the user list", () => {
    expect(refusal("SELECT * FROM remote('127.0.0.1:9000', system.databases, 'default', '')")).toMatch(/READ ON REMOTE/);
    expect(refusal("SELECT * FROM url('http://127.0.0.1:8081/metrics', CSV, 'line String')")).toMatch(/READ ON URL/);
    expect(refusal("SELECT * FROM file('/etc/passwd', CSV, 'line String')")).toMatch(/READ ON FILE/);
    expect(refusal(`SELECT * FROM ${OTHER}.secrets`)).toMatch(/ACCESS_DENIED/);
    expect(refusal("SELECT name FROM system.users")).toMatch(/SHOW USERS/);
    expect(analyst.query("SELECT name FROM system.databases", "CSV")).not.toContain(OTHER);
  });

  it("changes nothing: no writes, no DDL, no setting (max_execution_time and max_memory_usage neither raised nor 0)", () => {
    expect(refusal(`INSERT INTO ${DB}.events (event_id) VALUES ('x')`)).toMatch(/ACCESS_DENIED|READONLY/);
    expect(refusal(`CREATE TABLE ${DB}.analyst_table (x UInt8) ENGINE = Memory`)).toMatch(/ACCESS_DENIED|READONLY/);
    expect(refusal(`DROP TABLE ${DB}.events`)).toMatch(/ACCESS_DENIED|READONLY/);
    for (const change of ["max_execution_time = 0", "max_execution_time = 3600", "max_memory_usage = 0", "max_memory_usage = 16000000000", "readonly = 0", "readonly = 2"]) {
      expect(refusal(`SELECT 1 SETTINGS ${change}`), change).toMatch(/READONLY|SETTING_CONSTRAINT_VIOLATION/);
      expect(refusal(`SET ${change}`), change).toMatch(/READONLY|SETTING_CONSTRAINT_VIOLATION/);
    }
    const settings = analyst.query("SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time', 'max_memory_usage')", "JSONEachRow");
    const inForce = Object.fromEntries(settings.trim().split("\n").map((line) => JSON.parse(line) as { name: string; value: string }).map(({ name, value }) => [name, Number(value)]));
    expect(inForce).toEqual(READ_ONLY_USER_SETTINGS);
  });
});
