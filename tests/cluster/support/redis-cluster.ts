import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { isCluster, type RedisClient } from "@clm/redis";
import { Redis } from "ioredis";

/** One node of a Redis Cluster as CLUSTER NODES lists it. */
export interface ClusterNode {
  id: string;
  host: string;
  port: number;
  role: "master" | "replica";
  /** The master's id, for a replica. */
  masterId: string | null;
  failed: boolean;
  /** Slot ranges served (masters), inclusive. */
  slots: [number, number][];
}

/** Parses CLUSTER NODES (one line per node: id addr flags master ping pong epoch link slot…). */
export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(" ");
      const [hostPort] = address!.split("@");
      const at = hostPort!.lastIndexOf(":");
      const flagList = flags!.split(",");
      return {
        id: id!,
        host: hostPort!.slice(0, at),
        port: Number(hostPort!.slice(at + 1)),
        role: flagList.includes("master") ? "master" : "replica",
        masterId: master === "-" ? null : master!,
        failed: flagList.includes("fail") || flagList.includes("fail?"),
        slots: slots.filter((slot) => !slot.startsWith("[")).map((slot) => {
          const [from, to] = slot.split("-").map(Number);
          return [from!, to ?? from!] as [number, number];
        }),
      } satisfies ClusterNode;
    });
}

/** A connection to one node only (no cluster routing): for CLUSTER NODES, INFO, CONFIG of that node. */
export function nodeConnection(port: number, host = "127.0.0.1"): Redis {
  const node = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // A node that is down (the killed one) refuses: callers see it in the command's failure.
  node.on("error", () => undefined);
  return node;
}

/** The cluster's nodes as the first reachable of `ports` sees them. */
export async function clusterNodes(ports: readonly number[]): Promise<ClusterNode[]> {
  for (const port of ports) {
    const node = nodeConnection(port);
    try {
      await node.connect();
      return parseClusterNodes(String(await node.call("CLUSTER", "NODES")));
    } catch {
      continue;
    } finally {
      node.disconnect();
    }
  }
  throw new Error(`no cluster node answers on ${ports.join(", ")}`);
}

/** The hash slot of a key (CLUSTER KEYSLOT, asked of the cluster). */
export async function keySlot(redis: RedisClient, key: string): Promise<number> {
  if (!isCluster(redis)) throw new Error("not a Redis Cluster client");
  return Number(await redis.call("CLUSTER", "KEYSLOT", key));
}

export function servesSlot(node: ClusterNode, slot: number): boolean {
  return node.slots.some(([from, to]) => slot >= from && slot <= to);
}

/** What is needed to start a node again the way it runs now. */
export interface NodeLaunch {
  pid: number;
  port: number;
  executable: string;
  args: string[];
}

// The settings a cluster node is started with (the stack's and the development cluster's command lines).
const LAUNCH_SETTINGS = ["bind", "port", "dir", "cluster-enabled", "cluster-config-file", "cluster-node-timeout", "appendonly", "appendfsync", "save", "logfile", "protected-mode", "requirepass", "masterauth"];

/**
 * Reads a node's process id and the settings it runs with (INFO server, CONFIG GET), so that it can
 * be killed and started again as it was: with its config file if it has one, else with the same
 * settings on the command line; daemonized either way (the test does not supervise it).
 */
export async function nodeLaunch(port: number): Promise<NodeLaunch> {
  const node = nodeConnection(port);
  await node.connect();
  try {
    const info = await node.info("server");
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "";
    const args: string[] = [];
    const configFile = field("config_file");
    if (configFile !== "") args.push(configFile);
    for (const name of LAUNCH_SETTINGS) {
      const [, value] = (await node.config("GET", name)) as string[];
      if (value === undefined || (value === "" && name !== "save")) continue;
      // Several values (bind addresses, save points) go as separate arguments, as on a command line.
      args.push(`--${name}`, ...(value === "" ? [""] : value.split(" ")));
    }
    args.push("--daemonize", "yes");
    // INFO's executable joins a relative argv[0] to the start directory: trusted only if it is there.
    const executable = field("executable");
    return { pid: Number(field("process_id")), port, executable: executable !== "" && existsSync(executable) ? executable : "redis-server", args };
  } finally {
    node.disconnect();
  }
}

/** SIGKILL, then waits until nothing answers on the node's port. */
export async function killNode(launch: NodeLaunch): Promise<void> {
  process.kill(launch.pid, "SIGKILL");
  for (let tries = 0; tries < 100; tries++) {
    const node = nodeConnection(launch.port);
    const answered = await node.connect().then(() => true, () => false);
    node.disconnect();
    if (!answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the node on ${launch.port} still answers after SIGKILL`);
}

/** Starts the node again as `launch` says (it reads its nodes file and rejoins, as a replica once its replica took over). */
export async function restartNode(launch: NodeLaunch): Promise<void> {
  const child = spawn(launch.executable, launch.args, { stdio: "ignore" });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("exit", resolve);
    child.once("error", reject);
  });
  if (code !== 0) throw new Error(`${launch.executable} ${launch.args.join(" ")} exited with ${code}`);
}
