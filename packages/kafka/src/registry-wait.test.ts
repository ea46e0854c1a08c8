import { describe, expect, it } from "vitest";
import { RegistryUnavailableError } from "./avro-serde.ts";
import { prepareWhileRegistryAway, type RegistryWaitOptions } from "./registry-wait.ts";

const unavailable = () => new RegistryUnavailableError(7, 500, "the schema registry gave no answer on schema id 7", { cause: new Error("status 500") });

/** A registry that fails `failures` times, then answers; and a log of what the wait did. */
function scenario(failures: number, overrides: Partial<RegistryWaitOptions> = {}) {
  const log: string[] = [];
  let calls = 0;
  const prepare = async () => {
    calls++;
    log.push(`prepare ${calls}`);
    if (calls <= failures) throw unavailable();
  };
  const options: RegistryWaitOptions = {
    heartbeat: async () => void log.push("heartbeat"),
    active: () => true,
    onUnavailable: (_error, retryInMs) => void log.push(`unavailable, retry in ${retryInMs}`),
    onRecovered: (count) => void log.push(`recovered after ${count}`),
    initialBackoffMs: 5,
    maxBackoffMs: 20,
    heartbeatEveryMs: 5,
    ...overrides,
  };
  return { log, prepare, options, calls: () => calls };
}

describe("prepareWhileRegistryAway", () => {
  it("returns at once when the registry answers, without heartbeating or logging", async () => {
    const { log, prepare, options } = scenario(0);
    expect(await prepareWhileRegistryAway(prepare, options)).toBe(true);
    expect(log).toEqual(["prepare 1"]);
  });

  it("retries with a doubling, capped backoff and heartbeats while the registry is away, then goes on", async () => {
    const { log, prepare, options } = scenario(4);
    expect(await prepareWhileRegistryAway(prepare, options)).toBe(true);
    expect(log.filter((line) => !line.startsWith("heartbeat"))).toEqual([
      "prepare 1",
      "unavailable, retry in 5",
      "prepare 2",
      "unavailable, retry in 10",
      "prepare 3",
      "unavailable, retry in 20",
      "prepare 4",
      "unavailable, retry in 20",
      "prepare 5",
      "recovered after 4",
    ]);
    // Heartbeats in every pause (kafkajs sends one only when its interval has passed).
    expect(log.filter((line) => line === "heartbeat").length).toBeGreaterThanOrEqual(4);
  });

  it("heartbeats during a slow try too", async () => {
    const beats: number[] = [];
    const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 60));
    expect(await prepareWhileRegistryAway(slow, { ...scenario(0).options, heartbeat: async () => void beats.push(1), heartbeatEveryMs: 10 })).toBe(true);
    expect(beats.length).toBeGreaterThanOrEqual(2);
  });

  it("gives the batch up (false) when the consumer stops while waiting", async () => {
    let running = true;
    const { prepare, options, calls } = scenario(Number.POSITIVE_INFINITY, {
      active: () => running,
      onUnavailable: () => {
        if (calls() === 3) running = false;
      },
    });
    expect(await prepareWhileRegistryAway(prepare, options)).toBe(false);
    expect(calls()).toBe(3);
  });

  it("throws a heartbeat's error (a rebalance) so that kafkajs rejoins, during a pause or a slow try", async () => {
    const rebalance = Object.assign(new Error("The group is rebalancing, so a rejoin is needed"), { type: "REBALANCE_IN_PROGRESS" });
    const { prepare, options } = scenario(Number.POSITIVE_INFINITY, { heartbeat: () => Promise.reject(rebalance) });
    await expect(prepareWhileRegistryAway(prepare, options)).rejects.toBe(rebalance);
    const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 40));
    await expect(prepareWhileRegistryAway(slow, { ...options, heartbeatEveryMs: 10 })).rejects.toBe(rebalance);
  });

  it("throws any other error at once: only RegistryUnavailableError is waited out", async () => {
    const bug = new TypeError("Cannot read properties of undefined");
    const { options } = scenario(0);
    let calls = 0;
    await expect(
      prepareWhileRegistryAway(async () => {
        calls++;
        throw bug;
      }, options),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });
});
