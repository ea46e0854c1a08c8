import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Config } from "@clm/config";
import { SERVICE_NODE_FLAGS, SOURCE_NODE_FLAGS } from "@clm/observability";
import { REPO_ROOT, runDir } from "./paths.ts";

/** The pipeline's own processes, in the order `up` starts them and `down` stops them. */
export interface ServiceSpec {
  name: "ingest" | "processor" | "sink" | "modeler" | "console" | "webhooks";
  /** The service's workspace, relative to the repo root. */
  dir: string;
  port: (config: Config) => number;
}

export const SERVICES: readonly ServiceSpec[] = [
  { name: "ingest", dir: "services/ingest", port: (config) => config.INGEST_PORT },
  { name: "processor", dir: "services/processor", port: (config) => config.PROCESSOR_HTTP_PORT },
  { name: "sink", dir: "services/sink", port: (config) => config.SINK_HTTP_PORT },
  { name: "modeler", dir: "services/modeler", port: (config) => config.MODELER_HTTP_PORT },
  { name: "console", dir: "services/console", port: (config) => config.CONSOLE_PORT },
  { name: "webhooks", dir: "services/webhooks", port: (config) => config.WEBHOOKS_PORT },
];

/** What a service runs from: its TypeScript sources through tsx, or the build in dist/ with plain node (`npm run build`). */
export type RunFrom = "source" | "build";

/** Entry point relative to the repo root. */
export const serviceEntry = (service: ServiceSpec, from: RunFrom) => (from === "build" ? `${service.dir}/dist/main.js` : `${service.dir}/src/main.ts`);

/** node's arguments for a service: the service flags, tsx and the source condition for the sources, then the entry. */
export function serviceArgs(service: ServiceSpec, from: RunFrom): string[] {
  return [...SERVICE_NODE_FLAGS, ...(from === "source" ? SOURCE_NODE_FLAGS : []), serviceEntry(service, from)];
}

export const pidFile = (service: ServiceSpec, env?: NodeJS.ProcessEnv) => join(runDir(env), `${service.name}.pid`);
export const logFile = (service: ServiceSpec, env?: NodeJS.ProcessEnv) => join(runDir(env), `${service.name}.log`);
export const healthUrl = (service: ServiceSpec, config: Config) => `http://127.0.0.1:${service.port(config)}/healthz`;

/** The pid recorded for a service, if its pid file holds one. */
export function readPid(service: ServiceSpec, env?: NodeJS.ProcessEnv): number | null {
  try {
    const pid = Number(readFileSync(pidFile(service, env), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * True while `pid` is a live process running this service. Where /proc exists, the command line
 * must name one of the service's entries (source or build), so a pid the kernel recycled for
 * something else does not count.
 */
export function isServiceProcess(pid: number, service: ServiceSpec): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const procDir = `/proc/${pid}`;
  if (!existsSync("/proc/self")) return true;
  try {
    const stat = readFileSync(`${procDir}/stat`, "utf8");
    if (/\) Z /.test(stat)) return false; // a zombie has exited already
    return runsFrom(readFileSync(`${procDir}/cmdline`, "utf8").split("\0"), service) !== null;
  } catch {
    return false;
  }
}

/** Which of the service's entries a command line (argv) runs, or null for neither. */
export function runsFrom(argv: readonly string[], service: ServiceSpec): RunFrom | null {
  for (const from of ["source", "build"] as const) if (argv.some((arg) => arg.endsWith(serviceEntry(service, from)))) return from;
  return null;
}

/** The pid of the running service started by `clm up`, or null (stale pid files count as none). */
export function runningPid(service: ServiceSpec, env?: NodeJS.ProcessEnv): number | null {
  const pid = readPid(service, env);
  return pid !== null && isServiceProcess(pid, service) ? pid : null;
}

export function removePidFile(service: ServiceSpec, env?: NodeJS.ProcessEnv): void {
  rmSync(pidFile(service, env), { force: true });
}

/**
 * Starts a service in the background: its own process group (detached, so `down` can signal the
 * whole group and closing this terminal does not stop it), stdout and stderr appended to its log.
 * From the sources, `node --import tsx` runs the service in this one process (the tsx CLI would
 * add a parent).
 */
export function startService(service: ServiceSpec, from: RunFrom, env: NodeJS.ProcessEnv, header: string): { pid: number; logOffset: number; exited: Promise<number | null> } {
  const dir = runDir(env);
  mkdirSync(dir, { recursive: true });
  const log = openSync(logFile(service, env), "a");
  try {
    writeSync(log, `\n=== ${header} ===\n`);
    const logOffset = statSync(logFile(service, env)).size;
    const child = spawn(process.execPath, serviceArgs(service, from), {
      cwd: REPO_ROOT,
      env,
      detached: true,
      stdio: ["ignore", log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${service.name}`);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.unref();
    writeFileSync(pidFile(service, env), `${child.pid}\n`);
    return { pid: child.pid, logOffset, exited };
  } finally {
    closeSync(log);
  }
}

/** GET /healthz on loopback: "ok" only for a 200 within the timeout. */
export async function checkHealth(url: string, timeoutMs = 3000): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    if (response.ok) return { ok: true, detail: "" };
    return { ok: false, detail: `${response.status} ${failingChecks(body)}`.trim() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, detail: cause ?? (error as Error).message };
  }
}

/** The names of the failing dependency checks in a /healthz body ({ ok, checks: { name: { ok, error } } }). */
function failingChecks(body: string): string {
  try {
    const report = JSON.parse(body) as { checks?: Record<string, { ok: boolean; error?: string }> };
    return Object.entries(report.checks ?? {})
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.error ?? "failed"}`)
      .join("; ");
  } catch {
    return "";
  }
}

/** True when something accepts TCP connections on the port (used to spot a service `up` did not start). */
export function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
  });
}

/** The last lines of a log, read from `fromOffset` on (this run's part) and at most 64 KiB back. */
export function logTail(path: string, lines: number, fromOffset = 0): string {
  try {
    const size = statSync(path).size;
    const start = Math.max(fromOffset, size - 64 * 1024);
    const length = size - start;
    if (length <= 0) return "";
    const buffer = Buffer.alloc(length);
    const fd = openSync(path, "r");
    try {
      readSync(fd, buffer, 0, length, start);
    } finally {
      closeSync(fd);
    }
    return buffer.toString("utf8").split("\n").filter((line) => line.trim() !== "").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
