import { mkdirSync, writeFileSync } from "node:fs";
import type { Config } from "@clm/config";
import type { RunningService } from "@clm/testkit";
import { isolatedConfig } from "./pipeline.ts";

/** Every service process a fault test started, killed ones too: their logs explain a failure. */
export class ServiceLogs {
  private readonly services: { name: string; service: RunningService }[] = [];

  constructor(readonly directory: string) {}

  add(name: string, service: RunningService): void {
    this.services.push({ name, service });
  }

  /** Keeps each process's log in the directory (read after a run: what kafkajs and the services said under each fault). */
  write(): void {
    mkdirSync(this.directory, { recursive: true });
    for (const [index, { name, service }] of this.services.entries()) writeFileSync(`${this.directory}/${index}-${name}.log`, service.output());
  }

  /** Writes the logs, and prints each process's warnings, errors and assignments, so a CI failure can be read from its output. */
  report(): void {
    this.write();
    for (const [index, { name, service }] of this.services.entries()) {
      const notable = service.output().split("\n").filter((line) => /"level":(40|50|60)/.test(line) || line.includes("partitions assigned"));
      console.log(`--- ${name} #${index} (${notable.length} warnings, errors and assignments; full log in ${this.directory}/${index}-${name}.log)\n${notable.slice(-25).join("\n")}`);
    }
  }
}

/** The config of a whole-pipeline fault test: its own topics, prefix, database and sink group; services on free ports, retrying quickly, logging. */
export function faultTestConfig(run: string, ingestPort: number, overrides: Record<string, string> = {}): Config {
  return isolatedConfig({
    INGEST_PORT: String(ingestPort),
    PROCESSOR_HTTP_PORT: "0",
    SINK_HTTP_PORT: "0",
    CLICKHOUSE_DATABASE: `test_${run}`,
    SINK_GROUP_ID: `test-${run}-sink`,
    SINK_FLUSH_INTERVAL_MS: "300",
    SINK_RETRY_MAX_MS: "2000",
    INGEST_PUBLISH_TIMEOUT_MS: "5000",
    LOG_LEVEL: "info",
    ...overrides,
  });
}
