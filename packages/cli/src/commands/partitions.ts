import { ConfigError, loadConfig, type Config } from "@clm/config";
import { GrowthRefusedError, type GrowthReport } from "@clm/state-store/admin";
import { createRedis } from "@clm/redis";
import { intOption, parseCommandArgs, UsageError } from "../args.ts";
import { commandEnv } from "../context.ts";
import { withAdmin } from "../kafka-admin.ts";
import { growInputTopic, type GrowthOutcome } from "../partition-growth.ts";
import { formatCount } from "../table.ts";

export const usage = `clm partitions grow --to M --topic NEW_TOPIC --prefix NEW_PREFIX [--no-sink] [--json]
  Moves a drained pipeline from TOPIC_PARTITIONS partitions of TOPIC_EVENTS to M partitions of a new
  input topic, its Redis state from REDIS_KEY_PREFIX to a new prefix (docs/scaling.md, "Growing the
  partition count"). Growing a topic in place would move customers' keys to other partitions while
  their state stays addressed by the old ones, so the new topic is a new one.
  Before: stop ingest's writes (or point ingest at the new topic, see the doc), the modeler and the
  webhook service; run the processors and the sink until 'clm wait' reports them caught up (every
  record applied, every outbox published, no sweep under way); stop the processors.
  Then this command refuses unless: every record of the old topic is applied in Redis, no outbox
  holds a change, no refit or audience sweep is under way, every partition runs the same value model
  and audience definitions and no customer is still to be moved to them, no processor or webhook
  service is in its group, the sink has read the old topic to its end (--no-sink: not checked), and
  the new prefix is empty. It creates NEW_TOPIC with M partitions (or checks the one there), copies
  every customer's state, history, timer and audience memberships to the partition the producers'
  partitioner gives its key among M, and every shared key (models, definitions, RFM boundaries,
  webhooks), verifies the copy both ways (states byte for byte), and only then writes each new
  partition's meta (its first offset on NEW_TOPIC, write fence 0, the earliest old watermark, the
  active value model and definitions). The old topic and prefix are only read; a growth refused or
  failing once it has begun to copy removes what it wrote.
  After: start every service with TOPIC_EVENTS=NEW_TOPIC TOPIC_PARTITIONS=M REDIS_KEY_PREFIX=NEW_PREFIX
  (nothing else changes: output topics keep their names and partitions). Keep the old topic and
  prefix until you no longer want to go back.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { to: { type: "string" }, topic: { type: "string" }, prefix: { type: "string" }, "no-sink": { type: "boolean", default: false }, json: { type: "boolean", default: false } },
    { min: 1, max: 1 },
  );
  if (positionals[0] !== "grow") throw new UsageError(`unknown subcommand ${JSON.stringify(positionals[0])}; expected grow`);
  if (values.topic === undefined || values.prefix === undefined || values.to === undefined) throw new UsageError("--to, --topic and --prefix are required");
  const to = intOption("to", values.to, 0, { min: 2, max: 1024 });
  const env = commandEnv();
  const current = loadConfig(env);
  // The config the services will run with after the switch: its own checks apply to the new names.
  const grown = grownSettings(env, values.topic, to, values.prefix);

  const redis = createRedis(current, { lazyConnect: true, maxRetriesPerRequest: 20 });
  const tty = process.stderr.isTTY && !values.json;
  let outcome: GrowthOutcome;
  try {
    await redis.connect();
    outcome = await withAdmin(current, (admin) =>
      growInputTopic(admin, redis, {
        current,
        grown,
        checkSink: !values["no-sink"],
        ...(tty ? { onProgress: (customers: number) => process.stderr.write(`\rcopied ${formatCount(customers)} customers\x1b[K`) } : {}),
      }),
    );
  } catch (error) {
    if (tty) process.stderr.write("\n");
    if (error instanceof GrowthRefusedError) {
      console.error(`clm partitions: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    redis.disconnect();
  }
  if (tty) process.stderr.write("\n");
  const { report } = outcome;
  if (values.json) {
    console.log(JSON.stringify({ from: { topic: current.TOPIC_EVENTS, partitions: current.TOPIC_PARTITIONS, prefix: current.REDIS_KEY_PREFIX }, to: { topic: grown.TOPIC_EVENTS, partitions: to, prefix: grown.REDIS_KEY_PREFIX }, startOffsets: outcome.startOffsets, ...report }));
    return 0;
  }
  console.log(summary(current, grown, outcome).join("\n"));
  return 0;
}

/** The config after the switch; a name it refuses is reported as the option that gave it. */
function grownSettings(env: NodeJS.ProcessEnv, topic: string, partitions: number, prefix: string): Config {
  try {
    return loadConfig({ ...env, TOPIC_EVENTS: topic, TOPIC_PARTITIONS: String(partitions), REDIS_KEY_PREFIX: prefix });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const option: Record<string, string> = { TOPIC_EVENTS: "--topic", REDIS_KEY_PREFIX: "--prefix" };
    throw new UsageError(error.problems.map((problem) => `${option[problem.variable] ?? problem.variable}: ${problem.message}`).join("; "));
  }
}

function summary(current: Config, grown: Config, { report, startOffsets, oldRecords }: GrowthOutcome): string[] {
  const rate = (report.customers / Math.max(report.copySeconds, 0.001)).toFixed(0);
  const instant = (at: number | null) => (at === null ? "none" : new Date(at).toISOString());
  const active = (entry: GrowthReport["meta"]["valueModel"]) => (entry === null ? "none" : `${entry.version} (activated ${instant(entry.activatedAt)})`);
  return [
    `grew ${current.REDIS_KEY_PREFIX} (${current.TOPIC_PARTITIONS} partitions of ${current.TOPIC_EVENTS}, ${formatCount(oldRecords)} records applied) into ${grown.REDIS_KEY_PREFIX} (${grown.TOPIC_PARTITIONS} partitions of ${grown.TOPIC_EVENTS})`,
    `  customers   ${formatCount(report.customers)} copied in ${report.copySeconds} s (${formatCount(Number(rate))}/s), verified in ${report.verifySeconds} s`,
    `    per old partition  ${report.customersPerOldPartition.map((count) => formatCount(count)).join(" ")}`,
    `    per new partition  ${report.customersPerNewPartition.map((count) => formatCount(count)).join(" ")}`,
    `  histories ${formatCount(report.histories)}, timers ${formatCount(report.timers)}, audience memberships ${formatCount(report.memberships)}, shared keys ${formatCount(report.sharedKeys)}`,
    `  new partitions start at offsets ${startOffsets.join(" ")} of ${grown.TOPIC_EVENTS}; watermark ${instant(report.meta.watermark)}, swept through ${instant(report.meta.sweptThrough)}`,
    `  value model ${active(report.meta.valueModel)}, audience definitions ${active(report.meta.audiences)}`,
    `switch every service to: TOPIC_EVENTS=${grown.TOPIC_EVENTS} TOPIC_PARTITIONS=${grown.TOPIC_PARTITIONS} REDIS_KEY_PREFIX=${grown.REDIS_KEY_PREFIX}`,
  ];
}
