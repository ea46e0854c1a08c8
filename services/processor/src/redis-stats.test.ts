import { describe, expect, it } from "vitest";
import { fullestServer, parseInfoMemory } from "./redis-stats.ts";

describe("parseInfoMemory", () => {
  it("reads used_memory and maxmemory from INFO memory (CRLF lines)", () => {
    const info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:2000000\r\nmaxmemory:4294967296\r\nmaxmemory_human:4.00G\r\n";
    expect(parseInfoMemory(info)).toEqual({ usedMemory: 1048576, maxMemory: 4294967296 });
  });
  it("gives null for a missing field", () => {
    expect(parseInfoMemory("# Memory\r\nused_memory:10\r\n")).toEqual({ usedMemory: 10, maxMemory: null });
  });
});

describe("fullestServer", () => {
  it("takes the master nearest its limit, or the largest when none has one", () => {
    const big = { usedMemory: 900, maxMemory: 10_000 };
    const near = { usedMemory: 500, maxMemory: 600 };
    expect(fullestServer([big, near, { usedMemory: 5000, maxMemory: 0 }])).toEqual(near);
    expect(fullestServer([{ usedMemory: 10, maxMemory: 0 }, { usedMemory: 30, maxMemory: 0 }])).toEqual({ usedMemory: 30, maxMemory: 0 });
    expect(fullestServer([{ usedMemory: null, maxMemory: null }])).toEqual({ usedMemory: null, maxMemory: null });
  });
});
