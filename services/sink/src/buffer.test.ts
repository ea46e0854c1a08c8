import { describe, expect, it } from "vitest";
import { SinkBuffer } from "./buffer.ts";

describe("SinkBuffer", () => {
  it("gives a failed write back ahead of later rows, keeping the highest offset per partition", () => {
    const buffer = new SinkBuffer();
    buffer.add({ events: ["a", "b"] }, "t", 0, 10n, 1000);
    const taken = buffer.take();
    expect(buffer.isEmpty).toBe(true);
    buffer.add({ events: ["c"], stage_transitions: ["s"] }, "t", 0, 12n, 1500);
    buffer.add({}, "t", 1, 5n, 1600); // a batch whose records were all skipped still advances its offset
    buffer.restore(taken);
    const again = buffer.take();
    expect(again.rows.events).toEqual(["a", "b", "c"]);
    expect(again.rows.stage_transitions).toHaveLength(1);
    expect([...again.offsets.values()].map((entry) => [entry.partition, entry.offset])).toEqual([[0, 12n], [1, 5n]]);
    expect(again.firstAddedAt).toBe(1000);
  });

  it("counts rows and ages from the oldest row, and forgets offsets of partitions it lost", () => {
    const buffer = new SinkBuffer();
    expect(buffer.age(5000)).toBe(0);
    buffer.add({ events: ["1", "2"], customer_snapshots: ["3"] }, "t", 0, 3n, 1000);
    buffer.add({ events: ["4"] }, "u", 2, 9n, 2000);
    expect(buffer.rowCount).toBe(4);
    expect(buffer.age(2500)).toBe(1500);
    buffer.retainOffsets((topic) => topic === "u");
    expect([...buffer.take().offsets.keys()]).toEqual(["u\u00002"]);
  });
});
