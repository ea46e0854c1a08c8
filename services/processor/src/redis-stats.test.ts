import { describe, expect, it } from "vitest";
import { parseInfoMemory } from "./redis-stats.ts";

describe("parseInfoMemory", () => {
  it("reads used_memory and maxmemory from INFO memory (CRLF lines)", () => {
    const info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:2000000\r\nmaxmemory:4294967296\r\nmaxmemory_human:4.00G\r\n";
    expect(parseInfoMemory(info)).toEqual({ usedMemory: 1048576, maxMemory: 4294967296 });
  });
  it("gives null for a missing field", () => {
    expect(parseInfoMemory("# Memory\r\nused_memory:10\r\n")).toEqual({ usedMemory: 10, maxMemory: null });
  });
});
