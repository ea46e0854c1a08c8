import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, type Config } from "@clm/config";
import { createLogger, type Logger } from "@clm/observability";
import { parseEnvFile, withStackEnv } from "./env-file.ts";
import { stackDir } from "./paths.ts";
import { readUpRecord } from "./up-record.ts";

/**
 * The environment every command (and every service `clm up` starts) sees: the process
 * environment plus the server URLs the local stack wrote to .stack/env, so `npx clm …`
 * works without `source .stack/env` first.
 */
export function commandEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = join(stackDir(env), "env");
  if (!existsSync(file)) return { ...env };
  return withStackEnv(env, parseEnvFile(readFileSync(file, "utf8")));
}

export function commandConfig(env: NodeJS.ProcessEnv = commandEnv()): Config {
  return loadConfig(env);
}

/**
 * The clock the running pipeline follows: CLOCK_MODE when the environment sets it, else the clock
 * `clm up` started the processor with (its record in .run/), else the config's default. A command
 * run beside a replay started with `clm up --clock event` then reads the event clock without
 * having to be told again.
 */
export function pipelineClockMode(config: Config, env: NodeJS.ProcessEnv = process.env): Config["CLOCK_MODE"] {
  if (env.CLOCK_MODE) return config.CLOCK_MODE;
  return readUpRecord(env)?.services.processor?.clock ?? config.CLOCK_MODE;
}

/** Library logs (kafkajs) go to stderr, off by default: its errors reach the command as exceptions, reported once (CLM_LOG_LEVEL=warn shows them). */
export function commandLogger(): Logger {
  return createLogger({ service: "cli", level: process.env.CLM_LOG_LEVEL ?? "fatal", destination: process.stderr });
}

/** The ingest API's base URL as the CLI reaches it (loopback, even when ingest binds 0.0.0.0). */
export function ingestUrl(config: Config): string {
  return `http://127.0.0.1:${config.INGEST_PORT}`;
}

/** Where the CLI finds the key of each scope ingest checks (docs/ingest.md). */
export const API_KEY_VARIABLES = { write: "CLM_API_KEY", read: "CLM_READ_API_KEY", admin: "CLM_ADMIN_API_KEY" } as const;

/**
 * The API key for an ingest request that needs `scope`: --api-key, then the scope's variable, then
 * CLM_API_KEY (one key may hold every scope), then the development key a loopback ingest without
 * configured keys accepts.
 */
export function apiKey(scope: keyof typeof API_KEY_VARIABLES, option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option ?? (env[API_KEY_VARIABLES[scope]] || env.CLM_API_KEY || "clm-dev-key");
}
