import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { Kafka, KafkaMessage } from "kafkajs";
import { startService, type RunningService } from "@clm/testkit";

export function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/**
 * The raw ceiling: a kafkajs consumer that only counts records, over the same topic. With
 * `perBatch`, it also does that work on every batch (e.g. decode the records): a second ceiling.
 */
export async function rawConsumeRate(
  kafka: Kafka,
  topic: string,
  expected: number,
  perBatch?: (messages: readonly KafkaMessage[]) => Promise<void>,
): Promise<{ eventsPerSecond: number; seconds: number }> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}`, maxBytesPerPartition: 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first: number | null = null;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        first ??= performance.now();
        if (perBatch) await perBatch(batch.messages);
        seen += batch.messages.length;
        if (seen >= expected) resolve(performance.now());
      },
    });
  });
  const started = performance.now();
  const ended = await done;
  await consumer.disconnect();
  const seconds = (ended - started) / 1000;
  return { eventsPerSecond: expected / seconds, seconds: Number(seconds.toFixed(2)) };
}

/** CPU time and peak RSS of this process while a benchmark runs. */
export function resourceSampler() {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  let peakRss = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      const cpu = process.cpuUsage(cpuStart);
      const wall = (performance.now() - wallStart) / 1000;
      return { cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)), wallSeconds: Number(wall.toFixed(1)), cpuCores: Number(((cpu.user + cpu.system) / 1e6 / wall).toFixed(2)), peakRssMiB: Math.round(peakRss / 2 ** 20) };
    },
  };
}

/** CPU seconds and peak RSS (VmHWM) of another process, read from /proc (Linux). */
export function processResources(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (USER_HZ = 100 on Linux)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuSeconds: Number((ticks / 100).toFixed(1)), peakRssMiB: hwm ? Math.round(Number(hwm[1]) / 1024) : 0 };
}

/**
 * CPU seconds and peak RSS of a service process that ends by itself (a rebuild): /proc is read every
 * 100 ms while it runs, and the last reading before it exited is the answer (at most 0.1 s of CPU short).
 */
export function resourcesUntilExit(service: RunningService): Promise<{ cpuSeconds: number; peakRssMiB: number }> {
  let last = { cpuSeconds: 0, peakRssMiB: 0 };
  const read = () => {
    try {
      last = processResources(service.child.pid!);
    } catch {
      // exited between two readings
    }
  };
  read();
  const timer = setInterval(read, 100);
  return service.exited.then(() => {
    clearInterval(timer);
    return last;
  });
}

/**
 * CPU seconds the local stack's Redis and Kafka broker spend during a phase (they share the
 * machine's cores with the service being measured). Read from the stack's pid files; a server
 * without one (a stack started elsewhere) is left out.
 */
export function stackCpuSampler(stackDir = process.env.CLM_STACK_DIR ?? ".stack") {
  // "<pid> <start time> <process group>" per server (infra/stack.sh): redis.pid on a single node,
  // redis-1.pid … redis-6.pid on the cluster profile, summed per server.
  const pids: Record<string, number[]> = {};
  let files: string[] = [];
  try {
    files = readdirSync(`${stackDir}/pids`);
  } catch {
    // not started by this checkout's stack script
  }
  for (const server of ["redis", "kafka", "clickhouse"]) {
    for (const file of files.filter((name) => name === `${server}.pid` || new RegExp(`^${server}-\\d+\\.pid$`).test(name))) {
      (pids[server] ??= []).push(Number(readFileSync(`${stackDir}/pids/${file}`, "utf8").trim().split(" ")[0]));
    }
  }
  const read = () => Object.fromEntries(Object.entries(pids).map(([server, list]) => [server, list.reduce((sum, pid) => sum + processResources(pid).cpuSeconds, 0)]));
  const before = read();
  return {
    stop(): Record<string, number> {
      const after = read();
      return Object.fromEntries(Object.entries(after).map(([server, seconds]) => [server, Number((seconds - before[server]!).toFixed(1))]));
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Records on a topic (sum over partitions of high − low watermark). */
export async function topicRecordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface BenchService extends RunningService {
  /** SIGTERM, then waits for the exit: the only exit the bench expects. */
  stop(): Promise<void>;
}

/**
 * A service as its own process for a bench. It dies with the bench (a crashed bench left its
 * processors consuming and holding their HTTP ports), and the bench fails at once, with the
 * service's last output, if it exits before `stop()` (a processor that died at start went unseen
 * until the bench read its CPU time).
 */
export function startBenchService(entry: string, env: NodeJS.ProcessEnv, args: string[] = [], nodeFlags: readonly string[] = []): BenchService {
  const service = startService(entry, env, args, nodeFlags);
  let stopping = false;
  const killWithBench = () => service.child.kill("SIGKILL");
  process.on("exit", killWithBench);
  void service.exited.then((code) => {
    process.off("exit", killWithBench);
    if (stopping) return;
    console.error(`${entry} (pid ${service.child.pid}) exited (code ${code}, signal ${service.child.signalCode}) during the bench; its last output:\n${service.output().slice(-4000)}`);
    process.exit(1);
  });
  return {
    ...service,
    stop: async () => {
      stopping = true;
      service.child.kill("SIGTERM");
      await service.exited;
    },
  };
}
