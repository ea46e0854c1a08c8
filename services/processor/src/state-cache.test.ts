import { applyEvent, DEFAULT_LIFECYCLE_CONFIG, type CustomerState } from "@clm/core";
import { describe, expect, it } from "vitest";
import { StateCache } from "./state-cache.ts";

const stateOf = (customerId: string, at = Date.UTC(2024, 0, 1)): CustomerState =>
  applyEvent(undefined, { eventId: `${customerId}-1`, customerId, occurredAt: at, type: "login", properties: { channel: null } }, DEFAULT_LIFECYCLE_CONFIG).state!;

const write = (customerId: string, deadline: number | null = 1) => ({ customerId, state: stateOf(customerId), deadline });

describe("StateCache", () => {
  it("keeps what a commit wrote and read while the partition's seq is the one it left", () => {
    const cache = new StateCache(10);
    cache.sync(4);
    const read = new Map([["r", stateOf("r")]]);
    cache.committed(4, 5, [write("a", 100), write("b", null)], read);
    expect(cache.get("a")).toEqual({ state: stateOf("a"), indexedDeadline: 100 });
    expect(cache.get("b")?.indexedDeadline).toBeNull();
    // Read, not written: the timer index may hold another writer's deadline.
    expect(cache.get("r")).toEqual({ state: read.get("r"), indexedDeadline: undefined });
    cache.sync(5);
    expect(cache.size).toBe(3);
  });

  it("empties on any other seq, and on clear", () => {
    const cache = new StateCache(10);
    cache.sync(1);
    cache.committed(1, 2, [write("a")], new Map());
    cache.sync(3); // someone else wrote
    expect(cache.get("a")).toBeUndefined();
    cache.committed(3, 4, [write("a")], new Map());
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it("keeps nothing from a commit whose expected seq is no longer the cache's (cleared or re-synced during the write)", () => {
    const cache = new StateCache(10);
    cache.sync(7);
    cache.clear(); // a rebalance while the write was in flight
    cache.committed(7, 8, [write("a")], new Map([["r", stateOf("r")]]));
    expect(cache.size).toBe(0);
    cache.sync(8);
    expect(cache.get("a")).toBeUndefined();
  });

  it("drops the least recently written customers beyond its capacity; capacity 0 keeps none", () => {
    const cache = new StateCache(3);
    cache.sync(0);
    cache.committed(0, 1, [write("a"), write("b"), write("c")], new Map());
    cache.committed(1, 2, [write("a"), write("d")], new Map());
    expect(["a", "b", "c", "d"].filter((id) => cache.get(id) !== undefined)).toEqual(["a", "c", "d"]);

    const none = new StateCache(0);
    none.sync(0);
    none.committed(0, 1, [write("a")], new Map([["r", stateOf("r")]]));
    expect(none.size).toBe(0);
  });
});
