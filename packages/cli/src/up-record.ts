import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runDir } from "./paths.ts";

/**
 * What `clm up` did, kept in <run dir>/up.json so `clm down` undoes exactly that: it stops
 * the local stack only if `up` started it, never a stack somebody else brought up.
 */
export interface UpRecord {
  startedStack: boolean;
  updatedAt: string;
  /** `from`: the sources (tsx) or the build (dist/); a record without it is from the sources. */
  services: Record<string, { pid: number; clock: "wall" | "event"; from?: "source" | "build"; startedAt: string }>;
}

const recordPath = (env?: NodeJS.ProcessEnv) => join(runDir(env), "up.json");

export function readUpRecord(env?: NodeJS.ProcessEnv): UpRecord | null {
  try {
    const parsed = JSON.parse(readFileSync(recordPath(env), "utf8")) as Partial<UpRecord>;
    return { startedStack: parsed.startedStack === true, updatedAt: String(parsed.updatedAt ?? ""), services: parsed.services ?? {} };
  } catch {
    return null;
  }
}

export function writeUpRecord(record: UpRecord, env?: NodeJS.ProcessEnv): void {
  mkdirSync(runDir(env), { recursive: true });
  writeFileSync(recordPath(env), `${JSON.stringify(record, null, 2)}\n`);
}

export function removeUpRecord(env?: NodeJS.ProcessEnv): void {
  rmSync(recordPath(env), { force: true });
}
