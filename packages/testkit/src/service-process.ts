import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Config } from "@clm/config";
import { SERVICE_NODE_FLAGS, SOURCE_NODE_FLAGS } from "@clm/observability";

/** Entries are paths from the repository root (services/<name>/src/main.ts), whatever the caller's directory. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The environment that makes a service read exactly this config. */
export function envOf(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return { ...env, ...extra };
}

export interface RunningService {
  child: ChildProcess;
  /** Resolves with the first log line that contains `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  output(): string;
}

/** Starts a service's main.ts as a real process (the way `npm start` would), capturing its JSON logs. */
export function startService(entry: string, env: NodeJS.ProcessEnv, args: string[] = [], nodeFlags: readonly string[] = [], cwd: string = ROOT): RunningService {
  // A main.ts from the sources through tsx (as `npm run ingest` does), a built main.js with plain node (as `npm run start:ingest`).
  const runner = entry.endsWith(".ts") ? SOURCE_NODE_FLAGS : [];
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...nodeFlags, ...runner, entry, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let buffer = "";
  const listeners: { text: string; resolve: (line: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    for (const listener of [...listeners]) {
      const line = buffer.split("\n").find((candidate) => candidate.includes(listener.text));
      if (line !== undefined) {
        listeners.splice(listeners.indexOf(listener), 1);
        listener.resolve(line);
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => buffer,
    waitForLog: (text, timeoutMs = 60_000) =>
      new Promise<string>((resolve, reject) => {
        const found = buffer.split("\n").find((line) => line.includes(text));
        if (found !== undefined) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no log line with ${JSON.stringify(text)} within ${timeoutMs} ms:\n${buffer.slice(-2000)}`)), timeoutMs);
        listeners.push({
          text,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`service exited before logging ${JSON.stringify(text)}:\n${buffer.slice(-2000)}`));
        });
      }),
  };
}
