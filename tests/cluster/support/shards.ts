import { execSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows, quoteString } from "@clm/clickhouse";
import { clusterMember } from "@clm/testkit";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A shard as its own server names it: its number in the cluster and the sharding-key slots it owns. */
export interface ShardPlace {
  shardNum: number;
  /** `key % totalWeight` values whose rows the Distributed tables send to this shard. */
  slots: number[];
  totalWeight: number;
}

/**
 * Which shard a server is, from its system.clusters: ClickHouse sends a row to the shard owning slot
 * `key % (sum of weights)`, slots given out in shard order, `weight` each.
 */
export async function shardPlace(client: ClickHouseClient, cluster: string): Promise<ShardPlace> {
  const rows = await queryRows<{ shard_num: number; shard_weight: number; is_local: number }>(
    client,
    `SELECT shard_num, any(shard_weight) AS shard_weight, max(is_local) AS is_local FROM system.clusters WHERE cluster = ${quoteString(cluster)} GROUP BY shard_num ORDER BY shard_num`,
  );
  let next = 0;
  let place: Omit<ShardPlace, "totalWeight"> | null = null;
  for (const row of rows) {
    const slots = Array.from({ length: Number(row.shard_weight) }, (_, index) => next + index);
    next += slots.length;
    if (Number(row.is_local) === 1) place = { shardNum: Number(row.shard_num), slots };
  }
  if (place === null) throw new Error(`the server is none of the shards of ${cluster}`);
  return { ...place, totalWeight: next };
}

/**
 * Stops or starts shard `shard` (its number in the cluster). By default as a member of the stack's
 * cluster profile (@clm/testkit clusterMember, which finds the profile's stack dir); a developer
 * running shards by hand sets CLM_CLICKHOUSE_SHARD_DOWN / CLM_CLICKHOUSE_SHARD_UP, commands in which
 * `{shard}` stands for the number.
 */
export async function controlShard(action: "down" | "up", shard: number): Promise<void> {
  const command = action === "down" ? process.env.CLM_CLICKHOUSE_SHARD_DOWN : process.env.CLM_CLICKHOUSE_SHARD_UP;
  if (command !== undefined) {
    execSync(command.replaceAll("{shard}", String(shard)), { cwd: ROOT, stdio: "pipe", timeout: 180_000 });
    return;
  }
  const member = clusterMember(`clickhouse-${shard as 1 | 2}`);
  await (action === "down" ? member.stop() : member.start());
}
