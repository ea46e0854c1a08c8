import type { KafkaMessage } from "kafkajs";
import { describe, expect, it } from "vitest";
import { slicesByCustomers } from "./slices.ts";

const message = (offset: number, key: string | null): KafkaMessage =>
  ({ offset: String(offset), key: key === null ? null : Buffer.from(key), value: null, timestamp: "0", attributes: 0, headers: {} }) as KafkaMessage;

describe("slicesByCustomers", () => {
  it("cuts a batch into consecutive slices of at most `limit` distinct keys, every record once, in order", () => {
    // Keys repeat, so slices hold more records than keys; one key is null (a record that will be dead-lettered).
    const keys = ["a", "b", "a", "c", "b", "d", null, "e", "a", "f", "f", "g"];
    const messages = keys.map((key, index) => message(index, key));
    for (const limit of [1, 2, 3, 5, 100]) {
      const slices = [...slicesByCustomers(messages, limit)];
      expect(slices.flat()).toEqual(messages);
      for (const slice of slices) {
        expect(new Set(slice.map((entry) => entry.key?.toString() ?? "")).size).toBeLessThanOrEqual(limit);
        expect(slice.length).toBeGreaterThan(0);
      }
      // A slice ends only where the next record would bring a key past the limit.
      for (let index = 0; index + 1 < slices.length; index++) {
        const withNext = [...slices[index]!, slices[index + 1]![0]!];
        expect(new Set(withNext.map((entry) => entry.key?.toString() ?? "")).size).toBe(limit + 1);
      }
    }
    expect([...slicesByCustomers(messages, 3)].map((slice) => slice.map((entry) => entry.offset))).toEqual([
      ["0", "1", "2", "3", "4"],
      ["5", "6", "7"],
      ["8", "9", "10", "11"],
    ]);
    expect([...slicesByCustomers([], 3)]).toEqual([]);
  });
});
