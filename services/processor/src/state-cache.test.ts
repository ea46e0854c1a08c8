import { describe, expect, it } from "vitest";
import { StateCache } from "./state-cache.ts";

const write = (customerId: string, deadline: number | null = 1) => ({ customerId, packed: new TextEncoder().encode(customerId), deadline });

describe("StateCache", () => {
  it("keeps what a commit wrote while the partition's seq is the one it left", () => {
    const cache = new StateCache(10);
    cache.sync(4);
    cache.committed(4, 5, [write("a", 100), write("b", null)]);
    expect(cache.get("a")).toEqual({ packed: "a", indexedDeadline: 100 });
    expect(cache.get("b")?.indexedDeadline).toBeNull();
    cache.sync(5);
    expect(cache.size).toBe(2);
  });

  it("empties on any other seq, and on clear", () => {
    const cache = new StateCache(10);
    cache.sync(1);
    cache.committed(1, 2, [write("a")]);
    cache.sync(3); // someone else wrote
    expect(cache.get("a")).toBeUndefined();
    cache.committed(3, 4, [write("a")]);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it("keeps nothing from a commit whose expected seq is no longer the cache's (cleared or re-synced during the write)", () => {
    const cache = new StateCache(10);
    cache.sync(7);
    cache.clear(); // a rebalance while the write was in flight
    cache.committed(7, 8, [write("a")]);
    expect(cache.size).toBe(0);
    cache.sync(8);
    expect(cache.get("a")).toBeUndefined();
  });

  it("holds every byte value exactly", () => {
    const cache = new StateCache(1);
    cache.sync(0);
    const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
    cache.committed(0, 1, [{ customerId: "a", packed: bytes.subarray(1), deadline: null }]);
    expect(new Uint8Array(Buffer.from(cache.get("a")!.packed, "latin1"))).toEqual(bytes.subarray(1));
  });

  it("drops the least recently written customers beyond its capacity; capacity 0 keeps none", () => {
    const cache = new StateCache(3);
    cache.sync(0);
    cache.committed(0, 1, [write("a"), write("b"), write("c")]);
    cache.committed(1, 2, [write("a"), write("d")]);
    expect(["a", "b", "c", "d"].filter((id) => cache.get(id) !== undefined)).toEqual(["a", "c", "d"]);

    const none = new StateCache(0);
    none.sync(0);
    none.committed(0, 1, [write("a")]);
    expect(none.size).toBe(0);
  });
});
