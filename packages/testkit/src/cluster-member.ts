import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const STACK_SCRIPT = join(ROOT, "infra", "stack.sh");

/** The members of the stack's cluster profile (infra/stack-cluster.sh), each a name for stack.sh up/down. */
export type ClusterMemberName = `kafka-${1 | 2 | 3}` | `redis-${1 | 2 | 3 | 4 | 5 | 6}` | `clickhouse-${1 | 2}` | "registry";

/**
 * The cluster profile's stack dir: CLM_CLUSTER_STACK_DIR, else `<repo>/.stack-cluster`. Not CLM_STACK_DIR,
 * which a test shell often points at the single-node stack.
 */
export function clusterStackDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(ROOT, env.CLM_CLUSTER_STACK_DIR || ".stack-cluster");
}

/** One server process of the running cluster profile, to crash, stop and start from a test. */
export interface ClusterMember {
  readonly name: ClusterMemberName;
  /** The pid and process group stack.sh recorded for it, or undefined when its pid file names no live process. */
  process(): { pid: number; pgid: number } | undefined;
  /** A crash: SIGKILL to its process group (no shutdown, nothing flushed); resolves once the process is gone. */
  kill9(): Promise<void>;
  /** `stack.sh down --profile cluster <name>`: TERM, then KILL after the stack's stop timeout. */
  stop(): Promise<void>;
  /**
   * `stack.sh up --profile cluster <name>`: starts it again and resolves once it is healthy: a broker back
   * in the ISR of its partitions, a Redis node rejoined (a former master as a replica), a shard answering.
   */
  start(): Promise<void>;
}

export function clusterMember(name: ClusterMemberName, stackDir: string = clusterStackDir()): ClusterMember {
  const pidFile = join(stackDir, "pids", `${name}.pid`);
  const readProcess = (): { pid: number; pgid: number } | undefined => {
    let text: string;
    try {
      text = readFileSync(pidFile, "utf8");
    } catch {
      return undefined;
    }
    const [pid, , pgid] = text.trim().split(/\s+/).map(Number);
    if (!pid || !alive(pid)) return undefined;
    return { pid, pgid: pgid || pid };
  };
  return {
    name,
    process: readProcess,
    async kill9() {
      const running = readProcess();
      if (!running) throw new Error(`${name} is not running (no live process in ${pidFile})`);
      // stack.sh starts each server as its own session, so its process group holds only that server.
      process.kill(-running.pgid, "SIGKILL");
      const deadline = Date.now() + 10_000;
      while (alive(running.pid)) {
        if (Date.now() > deadline) throw new Error(`${name} (pid ${running.pid}) still alive 10 s after SIGKILL`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    stop: () => runStack(stackDir, ["down", name]),
    start: () => runStack(stackDir, ["up", name]),
  };
}

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function runStack(stackDir: string, args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(
      "bash",
      [STACK_SCRIPT, ...args, "--profile", "cluster"],
      { cwd: ROOT, env: { ...process.env, CLM_STACK_DIR: stackDir }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        if (!error) return done();
        fail(new Error(`stack.sh ${args.join(" ")} --profile cluster failed (${error.message.split("\n")[0]}):\n${`${stdout}\n${stderr}`.trim().split("\n").slice(-30).join("\n")}`));
      },
    );
  });
}

/**
 * The Redis member (redis-N: the N-th URL of REDIS_URL, as the stack's env file lists them) that is the
 * master of `key`'s slot now: after a failover it is no longer the one it was at creation.
 */
export async function redisMasterMemberFor(key: string, urls: readonly string[] = (process.env.REDIS_URL ?? "").split(",").filter(Boolean)): Promise<ClusterMemberName> {
  const ports = urls.map((url) => new URL(url).port);
  for (const url of urls) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 });
    try {
      await redis.connect();
      const slot = Number(await redis.call("CLUSTER", "KEYSLOT", key));
      const nodes = String(await redis.call("CLUSTER", "NODES"));
      for (const line of nodes.trim().split("\n")) {
        const [, address, flags, , , , , , ...slots] = line.split(" ");
        if (!flags?.includes("master") || flags.includes("fail")) continue;
        const serves = slots.some((range) => {
          const [from, to = from] = range.split("-").map(Number);
          return from !== undefined && to !== undefined && slot >= from && slot <= to;
        });
        const index = ports.indexOf(address?.split("@")[0]?.split(":").at(-1) ?? "");
        if (serves && index >= 0) return `redis-${index + 1}` as ClusterMemberName;
      }
    } catch {
      // This node is down (a test may have killed it): ask the next.
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(`no Redis node of ${urls.join(",")} names a live master for key ${key}`);
}
