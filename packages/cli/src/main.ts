/**
 * clm — the pipeline's command line: run it locally, load data, look inside.
 *   npx clm <command> [options]        (or: npm run clm -- <command> [options])
 * Each command lives in commands/<name>.ts and is loaded only when called, so `clm status`
 * does not pay for the ClickHouse client.
 */
import { ConfigError } from "@clm/config";
import { UsageError } from "./args.ts";

interface Command {
  summary: string;
  load: () => Promise<{ run: (args: readonly string[]) => Promise<number>; usage: string }>;
}

const COMMANDS: Record<string, Command> = {
  up: { summary: "start the stack and the services in the background, wait until healthy", load: () => import("./commands/up.ts") },
  down: { summary: "stop what 'up' started", load: () => import("./commands/down.ts") },
  status: { summary: "health of every server and service", load: () => import("./commands/status.ts") },
  stack: { summary: "pass arguments to infra/stack.sh", load: () => import("./commands/stack.ts") },
  migrate: { summary: "apply the ClickHouse migrations", load: () => import("./commands/migrate.ts") },
  topics: { summary: "create the topics; messages and consumer lag per topic", load: () => import("./commands/topics.ts") },
  wait: { summary: "wait until the processor and sink have caught up", load: () => import("./commands/wait.ts") },
  load: { summary: "send a file of events through the ingest API", load: () => import("./commands/load.ts") },
  generate: { summary: "a deterministic synthetic population: NDJSON, straight to Kafka, or through ingest", load: () => import("./commands/generate.ts") },
  cohort: { summary: "the cohort retention matrix from ClickHouse", load: () => import("./commands/cohort.ts") },
  customer: { summary: "one customer's state and stage changes", load: () => import("./commands/customer.ts") },
  model: { summary: "fit, evaluate and show the customer-value model (BG/NBD + Gamma-Gamma)", load: () => import("./commands/model.ts") },
  destinations: { summary: "webhook destinations: list, create, update, rotate-secret, delete, dead-letters, replay", load: () => import("./commands/destinations.ts") },
  partitions: { summary: "grow a drained pipeline to more input partitions (new topic and Redis prefix)", load: () => import("./commands/partitions.ts") },
  clock: { summary: "advance the event-time clock of a replay so deadlines after its last event fire", load: () => import("./commands/clock.ts") },
};

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    "usage: clm <command> [options]   (clm <command> --help for its options)",
    "",
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    "",
    "Server URLs come from .stack/env (written by 'clm up' / 'npm run stack -- up'), then the",
    "environment (docs/configuration.md); variables already set win.",
  ].join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`clm: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  const module = await command.load();
  // `stack` passes everything through, --help included.
  if (name !== "stack" && (args.includes("--help") || args.includes("-h"))) {
    console.log(module.usage);
    return 0;
  }
  try {
    return await module.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`clm ${name}: ${error.message}\n\nusage: ${module.usage}`);
      return 2;
    }
    throw error;
  }
}

/** One line for the usual failures (config, refused connections); the stack trace only for the unexpected. */
function describe(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === "ECONNREFUSED") return `${(error as Error).message}: ${cause.message ?? "connection refused"} (is it running? 'clm status' shows what is up)`;
  if (error instanceof Error && /ECONNREFUSED|Connection error|connect ECONN/.test(error.message)) return `${error.message} (is it running? 'clm status' shows what is up)`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * The command is done once main settles. A client library may still hold a socket or a retry
 * timer after a failure (kafkajs does); the unref'd timer ends the process then, and never
 * fires when nothing else keeps it alive.
 */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}

main(process.argv.slice(2)).then(finish, (error: unknown) => {
  console.error(`clm: ${describe(error)}`);
  finish(1);
});
