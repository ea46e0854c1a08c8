/**
 * Processors scaling out, in one run:
 *   npm run bench -- scale-out [--profile cluster] [--events 600000] [--partitions 6] [--instances 1,3]
 * Runs the processor bench (bench/processor.ts) once per instance count, each on its own fresh topic
 * with the same synthetic events, on whichever stack the bench runner loaded (the cluster profile with
 * --profile cluster), and prints each run's rate, the processors' and the servers' CPU per event, and
 * every rate as a ratio to the first count's: the limit it is compared with, measured in the same run.
 * Writes bench-results/scale-out-<time>.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { machine } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "600000" }, partitions: { type: "string", default: "6" }, instances: { type: "string", default: "1,3" }, seed: { type: "string", default: "42" } } });
const counts = values.instances!.split(",").map(Number);
if (counts.some((count) => !Number.isInteger(count) || count < 1)) throw new Error("--instances must list positive integers, e.g. 1,3");

interface ProcessorResult {
  processor: { eventsPerSecond: number; steadyEventsPerSecond: number; secondsUntilStageChangesPublished: number };
  resources: { cpuSeconds: number; cpuCores: number; peakRssMiB: number };
  stackCpuSeconds: Record<string, number>;
  cpuMicrosecondsPerEvent: { processor: number; redis: number; kafka: number };
  stageChangesPublished: number;
}

mkdirSync("bench-results", { recursive: true });
const runs: { instances: number; result: ProcessorResult }[] = [];
for (const instances of counts) {
  const file = `bench-results/.scale-out-${instances}-${process.pid}.json`;
  console.log(`\n== ${instances} processor process(es), ${Number(values.events).toLocaleString("en-US")} events, ${values.partitions} partitions`);
  // The processor bench as its own process: the same flags and conditions bench/run.sh gives every bench.
  execFileSync(
    process.execPath,
    [...process.execArgv, "bench/processor.ts", "--events", values.events!, "--partitions", values.partitions!, "--seed", values.seed!, "--instances", String(instances), "--skip-core-ceiling", "--result-file", file],
    { stdio: ["ignore", "inherit", "inherit"], env: process.env },
  );
  runs.push({ instances, result: JSON.parse(readFileSync(file, "utf8")) as ProcessorResult });
  rmSync(file);
}

const base = runs[0]!.result.processor.eventsPerSecond;
const rows = runs.map(({ instances, result }) => ({
  instances,
  eventsPerSecond: result.processor.eventsPerSecond,
  steadyEventsPerSecond: result.processor.steadyEventsPerSecond,
  ratioToFirst: Number((result.processor.eventsPerSecond / base).toFixed(2)),
  processorCores: result.resources.cpuCores,
  cpuMicrosecondsPerEvent: result.cpuMicrosecondsPerEvent,
  clickhouseCpuSeconds: result.stackCpuSeconds.clickhouse ?? null,
  stageChangesPublished: result.stageChangesPublished,
}));
const stack = process.env.REDIS_CLUSTER === "true" ? "cluster profile (3 Kafka brokers RF 3, Redis Cluster 3+3, 2 ClickHouse shards)" : "single node";
console.log(`\nprocessors scaling out on the ${stack}, ${machine().cores} cores:`);
console.log("instances  events/s  steady/s  × first  processor cores  CPU µs/event: processor  Redis  Kafka");
for (const row of rows) {
  console.log(
    `${String(row.instances).padStart(9)}  ${String(row.eventsPerSecond).padStart(8)}  ${String(row.steadyEventsPerSecond).padStart(8)}  ${row.ratioToFirst.toFixed(2).padStart(7)}  ${row.processorCores.toFixed(2).padStart(15)}  ${String(row.cpuMicrosecondsPerEvent.processor).padStart(22)}  ${String(row.cpuMicrosecondsPerEvent.redis).padStart(5)}  ${String(row.cpuMicrosecondsPerEvent.kafka).padStart(5)}`,
  );
}
writeFileSync(`bench-results/scale-out-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, JSON.stringify({ benchmark: "scale-out", machine: machine(), stack, events: Number(values.events), partitions: Number(values.partitions), rows }, null, 2));
