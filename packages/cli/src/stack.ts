import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.ts";

const STACK_SCRIPT = join(REPO_ROOT, "infra", "stack.sh");

/** One server of the local stack as `stack.sh status --json` reports it. */
export interface StackServer {
  name: string;
  state: string;
  pid: number | null;
  url: string;
  healthy: boolean;
  version: string;
  detail: string;
}

export interface StackStatus {
  servers: StackServer[];
  ok: boolean;
}

/** The servers stack.sh manages, in its order; used when its status cannot be read at all. */
export const STACK_SERVERS = ["kafka", "registry", "redis", "clickhouse"] as const;

/** Runs infra/stack.sh with the terminal attached (its progress is the user's output); resolves the exit code. */
export function runStack(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [STACK_SCRIPT, ...args], { cwd: REPO_ROOT, env, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** `stack.sh status --json`: exits 1 when a server is down but still prints the JSON, so the exit code is ignored. */
export function stackStatus(env: NodeJS.ProcessEnv = process.env): Promise<StackStatus> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [STACK_SCRIPT, "status", "--json"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", () => {
      try {
        resolve(parseStackStatus(stdout));
      } catch (error) {
        reject(new Error(`could not read 'stack.sh status --json': ${(error as Error).message}${stderr ? `\n${stderr.trim()}` : ""}`));
      }
    });
  });
}

export function parseStackStatus(text: string): StackStatus {
  const parsed = JSON.parse(text) as { services?: unknown; ok?: unknown };
  if (!Array.isArray(parsed.services)) throw new Error("no services array");
  const servers = (parsed.services as Record<string, unknown>[]).map((server) => ({
    name: String(server.name),
    state: String(server.state),
    pid: typeof server.pid === "number" ? server.pid : null,
    url: String(server.url),
    healthy: server.healthy === true,
    version: String(server.version ?? ""),
    detail: String(server.detail ?? ""),
  }));
  return { servers, ok: parsed.ok === true };
}

/** The state stack.sh reports for a server `up` starts only when asked (prometheus) and that is not running. */
export const OPTIONAL_STOPPED = "stopped (optional)";

/** True when stack.sh already runs every server itself (so `up` did not start the stack); an optional server may be stopped. */
export function stackFullyRunning(status: StackStatus): boolean {
  return status.servers.some((server) => server.state === "running") && status.servers.every((server) => server.state === "running" || server.state === OPTIONAL_STOPPED);
}

/** True when none of the stack's servers is running as its own process. */
export function stackStopped(status: StackStatus): boolean {
  return status.servers.every((server) => server.state !== "running");
}
