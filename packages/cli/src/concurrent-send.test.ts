import type { SendResult } from "@clm/client";
import { describe, expect, it } from "vitest";
import { sendConcurrently } from "./concurrent-send.ts";

describe("sendConcurrently", () => {
  it("sends every slice once, limits requests in flight and maps rejections to input indexes", async () => {
    const events = Array.from({ length: 23 }, (_, index) => index);
    const seen: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const progress: number[] = [];
    const result = await sendConcurrently(events, {
      batch: 5,
      concurrency: 3,
      onProgress: (sent) => progress.push(sent),
      send: async (slice): Promise<SendResult> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        seen.push([...slice]);
        await new Promise((resolve) => setTimeout(resolve, 5 + (slice[0]! % 3)));
        inFlight--;
        // Reject every event divisible by 7, indexed within the slice like the server does.
        const rejected = slice.flatMap((value, index) => (value % 7 === 0 ? [{ index, eventId: `e${value}`, errors: [{ path: "x", message: "bad" }] }] : []));
        return { accepted: slice.length - rejected.length, rejected, requests: 1, retries: 0 };
      },
    });
    expect(seen.flat().sort((a, b) => a - b)).toEqual(events);
    expect(maxInFlight).toBe(3);
    expect(result.requests).toBe(5);
    expect(result.accepted).toBe(23 - 4);
    expect(result.rejected.map((rejection) => [rejection.index, rejection.eventId])).toEqual([[0, "e0"], [7, "e7"], [14, "e14"], [21, "e21"]]);
    expect(progress.at(-1)).toBe(23);
  });

  it("stops handing out slices after a failure and rethrows it", async () => {
    let calls = 0;
    const send = async (): Promise<SendResult> => {
      calls++;
      throw new Error("401 UNAUTHORIZED");
    };
    await expect(sendConcurrently(Array.from({ length: 100 }, (_, index) => index), { batch: 1, concurrency: 2, send })).rejects.toThrow(/401/);
    expect(calls).toBe(2);
  });
});
