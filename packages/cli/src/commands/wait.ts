import { intOption, parseCommandArgs } from "../args.ts";
import { CatchUpTracker } from "../catch-up.ts";
import { commandConfig } from "../context.ts";
import { consumerGroups, withAdmin, withFreshLeaders } from "../kafka-admin.ts";
import { groupLag, topicOffsets } from "../kafka-offsets.ts";
import { formatCount } from "../table.ts";
import { createRedis } from "@clm/redis";
import { RedisLayout, StateReader } from "@clm/state-store";

export const usage = `clm wait [--timeout 300] [--no-sink]
  Waits until the pipeline has caught up: the processor group has no lag on the events topic and no
  refit sweep to a newly activated value model under way, the sink group none on its topics, and the
  stage- and tier-change topics have stopped growing for 2 s. --no-sink waits for the processor only.
  Exit 1 on timeout.`;

const POLL_MS = 500;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { timeout: { type: "string" }, "no-sink": { type: "boolean", default: false } }, { min: 0, max: 0 });
  const timeoutMs = intOption("timeout", values.timeout, 300, { min: 1, max: 86_400 }) * 1000;
  const config = commandConfig();
  const groups = consumerGroups(config).filter((group) => !(values["no-sink"] && group.name === "sink"));
  const tracker = new CatchUpTracker(2000);
  const tty = process.stderr.isTTY;
  const started = Date.now();

  const redis = createRedis(config, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  const refitting = async () => {
    let partitions = 0;
    for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
      const meta = await store.loadMeta(partition);
      if (meta.refitCursor !== null || meta.audienceCursor !== null) partitions++;
    }
    return partitions;
  };
  try {
    return await waitCaughtUp();
  } finally {
    redis.disconnect();
  }

  function waitCaughtUp(): Promise<number> {
    return withAdmin(config, async (admin) => {
      let lastLine = "";
      let lastPrintedAt = 0;
      for (;;) {
        const topics = new Map<string, Awaited<ReturnType<typeof topicOffsets>>>();
        for (const topic of new Set([config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES, ...groups.flatMap((group) => group.topics)])) topics.set(topic, await withFreshLeaders(admin, () => topicOffsets(admin, topic)));
        const lags: Record<string, bigint> = {};
        for (const group of groups) {
          let lag = 0n;
          for (const topic of group.topics) lag += (await withFreshLeaders(admin, () => groupLag(admin, group.groupId, topics.get(topic)!))).lag;
          lags[group.name] = lag;
        }
        // A refit sweep counts as lag: tier changes are still to come.
        const sweeps = await refitting();
        if (sweeps > 0) lags.refit = BigInt(sweeps);
        const stageChangeEnd = topics.get(config.TOPIC_STAGE_CHANGES)!.endTotal + topics.get(config.TOPIC_VALUE_TIER_CHANGES)!.endTotal + topics.get(config.TOPIC_RISK_CHANGES)!.endTotal + topics.get(config.TOPIC_AUDIENCE_CHANGES)!.endTotal;
        const now = Date.now();
        const verdict = tracker.observe({ atMs: now, lags, stageChangeEnd });
        const line =
          `${((now - started) / 1000).toFixed(0).padStart(4)}s  ` +
          Object.entries(lags).map(([name, lag]) => (name === "refit" ? `refit sweeps ${formatCount(lag)} partitions` : `${name} lag ${formatCount(lag)}`)).join("  ") +
          `  stage and tier changes ${formatCount(stageChangeEnd)}${verdict.totalLag === 0n ? ` (steady ${(verdict.stableForMs / 1000).toFixed(1)}s)` : ""}`;
        // On a terminal the line is redrawn in place; in a pipe a line is printed when something changed, at most every 2 s.
        if (tty) process.stderr.write(`\r${line}\x1b[K`);
        else if (stripTime(line) !== stripTime(lastLine) && now - lastPrintedAt >= 2000) {
          process.stderr.write(`${line}\n`);
          lastPrintedAt = now;
        }
        lastLine = line;
        if (verdict.caughtUp) {
          if (tty) process.stderr.write("\n");
          console.log(`caught up after ${((now - started) / 1000).toFixed(1)} s: ${stripTime(line).trim()}`);
          return 0;
        }
        if (now - started >= timeoutMs) {
          if (tty) process.stderr.write("\n");
          console.error(`clm wait: not caught up within ${timeoutMs / 1000} s: ${stripTime(line).trim()}`);
          return 1;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    });
  }
}

/** The progress line without its elapsed time and steady-time parts, to tell whether anything moved. */
function stripTime(line: string): string {
  return line.replace(/^\s*\d+s\s+/, "").replace(/ \(steady [\d.]+s\)$/, "");
}
