import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "@clm/config";
import { createClickHouse, migrateConfigured } from "@clm/clickhouse";
import { choiceOption, parseCommandArgs, UsageError } from "../args.ts";
import { commandEnv } from "../context.ts";
import { ensureProjectTopics, projectTopics, withAdmin } from "../kafka-admin.ts";
import { REPO_ROOT } from "../paths.ts";
import { registerProjectSchemas } from "../registry-schemas.ts";
import { checkHealth, healthUrl, isServiceProcess, logFile, logTail, portInUse, removePidFile, runningPid, serviceEntry, SERVICES, startService, type RunFrom, type ServiceSpec } from "../services.ts";
import { runStack, stackStatus, stackStopped } from "../stack.ts";
import { renderTable } from "../table.ts";
import { readUpRecord, writeUpRecord, type UpRecord } from "../up-record.ts";

export const usage = `clm up [--clock wall|event] [--no-stack] [--built] [--without <service>]…
  Starts the local stack (infra/stack.sh up; skipped with --no-stack), creates the topics, runs the
  ClickHouse migrations, then starts ingest, processor, sink, modeler, the console and the webhook delivery service in the background (logs and pids in
  .run/, or CLM_RUN_DIR) and waits until each answers /healthz. Services already running are kept;
  --without leaves a service out (e.g. the modeler while a replay loads, so no scheduled fit lands mid-load).
  The services run from their TypeScript sources through tsx; with --built, 'npm run build' runs
  first (tsc -b rebuilds only what changed) and they run from dist/ with plain node, as in the images.`;

const HEALTH_TIMEOUT_MS = 120_000;
const RUN_FROM_TEXT: Record<RunFrom, string> = { source: "the sources", build: "the build (--built)" };

interface Outcome {
  service: ServiceSpec;
  pid: number | null;
  state: "started" | "running" | "external" | "failed";
  detail: string;
}

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { clock: { type: "string" }, "no-stack": { type: "boolean", default: false }, built: { type: "boolean", default: false }, without: { type: "string", multiple: true } },
    { min: 0, max: 0 },
  );
  const names = SERVICES.map((service) => service.name as string);
  const without = new Set(values.without ?? []);
  for (const name of without) if (!names.includes(name)) throw new UsageError(`--without must name a service (${names.join(", ")}), got ${JSON.stringify(name)}`);
  const from: RunFrom = values.built ? "build" : "source";
  // Checked before anything starts, so a typo does not leave a half-started pipeline.
  const clockOption = values.clock === undefined ? undefined : choiceOption("clock", values.clock, ["wall", "event"], "wall");
  const previous = readUpRecord();

  if (from === "build") {
    // First, so a build error stops 'up' before it touches anything. tsc -b compares each workspace's
    // sources with its last build: an up-to-date build costs a second or two.
    console.log("building (npm run build) …");
    const code = await runBuild();
    if (code !== 0) {
      console.error(`clm up: 'npm run build' failed (exit ${code})`);
      return 1;
    }
  }

  // Only a stack that was fully stopped before counts as ours to stop later. Recorded before stack.sh
  // runs, so even an 'up' that fails half-way lets 'clm down' stop what it started.
  let startedStack = previous?.startedStack ?? false;
  if (!values["no-stack"]) {
    const before = await stackStatus().catch(() => null);
    if (before === null || stackStopped(before)) {
      startedStack = true;
      writeUpRecord({ startedStack, updatedAt: new Date().toISOString(), services: previous?.services ?? {} });
    }
    const code = await runStack(["up"]);
    if (code !== 0) {
      console.error(`clm up: 'stack.sh up' failed (exit ${code})`);
      return 1;
    }
  }

  // Read after stack.sh has written .stack/env; every service gets the same environment.
  const env = commandEnv();
  // --clock, else CLOCK_MODE from the environment (loadConfig rejects a wrong one), else wall.
  const clockAsked = clockOption !== undefined || Boolean(env.CLOCK_MODE);
  const clock = clockOption ?? ((env.CLOCK_MODE as "wall" | "event" | undefined) || "wall");
  env.CLOCK_MODE = clock;
  // The console reads the customer API of the ingest this command starts.
  env.CONSOLE_INGEST_URL ||= `http://127.0.0.1:${loadConfig(env).INGEST_PORT}`;
  const config = loadConfig(env);

  // Topics first: ingest publishes to TOPIC_EVENTS and the broker never auto-creates topics.
  await withAdmin(config, (admin) => ensureProjectTopics(admin, config));
  console.log(`topics ready: ${projectTopics(config).join(", ")} (${config.TOPIC_PARTITIONS} partitions)`);
  console.log(`schemas registered: ${(await registerProjectSchemas(config)).join(", ")}`);

  const clickhouse = createClickHouse(config);
  try {
    const report = await migrateConfigured(config, clickhouse);
    console.log(`clickhouse ${report.database}: ${report.applied.length > 0 ? `applied ${report.applied.join(", ")}` : "schema up to date"}`);
  } finally {
    await clickhouse.close();
  }

  const record: UpRecord = { startedStack, updatedAt: new Date().toISOString(), services: { ...previous?.services } };
  const outcomes = await Promise.all(SERVICES.filter((service) => !without.has(service.name)).map((service) => bringUp(service, env, clock, record)));
  writeUpRecord(record, env);

  console.log("");
  console.log(
    renderTable(
      ["service", "state", "pid", "clock", "from", "health", "log"],
      outcomes.map((outcome) => [
        outcome.service.name,
        outcome.state,
        outcome.pid === null ? "-" : String(outcome.pid),
        record.services[outcome.service.name]?.clock ?? "-",
        record.services[outcome.service.name]?.from ?? (outcome.pid === null ? "-" : "source"),
        outcome.state === "failed" ? "DOWN" : `ok ${healthUrl(outcome.service, config)}`,
        logFile(outcome.service, env).replace(REPO_ROOT, ""),
      ]),
    ),
  );
  for (const outcome of outcomes) if (outcome.detail) console.log(`  ${outcome.service.name}: ${outcome.detail}`);
  if (outcomes.some((outcome) => outcome.service.name === "console" && outcome.state !== "failed")) {
    console.log(`console: http://127.0.0.1:${config.CONSOLE_PORT}/ (sign in with a read key: INGEST_READ_API_KEYS, or clm-dev-key when no key is set; docs/console.md)`);
  }
  console.log(`local stack ${startedStack ? "started by clm up ('clm down' stops it)" : "not started by clm up ('clm down' leaves it running)"}`);
  return outcomes.some((outcome) => outcome.state === "failed") ? 1 : 0;

  async function bringUp(service: ServiceSpec, childEnv: NodeJS.ProcessEnv, mode: "wall" | "event", into: UpRecord): Promise<Outcome> {
    const url = healthUrl(service, config);
    const existing = runningPid(service, childEnv);
    if (existing !== null) {
      const recorded = into.services[service.name];
      const runningFrom = recorded?.from ?? "source";
      const notes = [
        clockAsked && recorded !== undefined && recorded.clock !== mode ? `runs with clock ${recorded.clock}, not ${mode}: 'clm down' first to change it` : "",
        recorded !== undefined && runningFrom !== from ? `runs from ${RUN_FROM_TEXT[runningFrom]}, not ${RUN_FROM_TEXT[from]}: 'clm down' first to change it` : "",
      ].filter(Boolean);
      const health = await waitHealthy(url, null);
      return { service, pid: existing, state: health.ok ? "running" : "failed", detail: health.ok ? notes.join("; ") : health.detail };
    }
    removePidFile(service, childEnv);
    delete into.services[service.name];
    const port = service.port(config);
    if (await portInUse(port)) {
      // Somebody runs it by hand (npm run ingest …): leave it alone, report its health.
      const health = await checkHealth(url);
      return { service, pid: null, state: health.ok ? "external" : "failed", detail: `port ${port} is taken by a process clm up did not start${health.ok ? "" : ` (${health.detail})`}` };
    }
    const entry = serviceEntry(service, from);
    if (!existsSync(join(REPO_ROOT, entry))) {
      return { service, pid: null, state: "failed", detail: `${entry} does not exist` };
    }
    const started = startService(service, from, childEnv, `clm up ${new Date().toISOString()} clock=${mode} from=${from}`);
    into.services[service.name] = { pid: started.pid, clock: mode, from, startedAt: new Date().toISOString() };
    const health = await waitHealthy(url, started.exited);
    if (health.ok) return { service, pid: started.pid, state: "started", detail: "" };
    const tail = logTail(logFile(service, childEnv), 20, started.logOffset);
    // A service that died leaves no pid file behind; one that is alive but unhealthy keeps it for 'clm down'.
    if (!isServiceProcess(started.pid, service)) {
      removePidFile(service, childEnv);
      delete into.services[service.name];
    }
    return { service, pid: started.pid, state: "failed", detail: `${health.detail}\n--- last lines of ${logFile(service, childEnv)} ---\n${tail}` };
  }
}

/** `npm run build` in the repository, its output on this terminal; resolves with its exit code. */
function runBuild(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

/** Polls /healthz until 200, the process exits, or 120 s pass. */
async function waitHealthy(url: string, exited: Promise<number | null> | null): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited?.then((code) => (exitCode = code));
  let last = { ok: false, detail: "" };
  while (Date.now() < deadline) {
    if (exitCode !== undefined) return { ok: false, detail: `exited with code ${exitCode}` };
    last = await checkHealth(url);
    if (last.ok) return last;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { ok: false, detail: `no healthy answer from ${url} within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${last.detail})` };
}
