import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { IngestClient, IngestRequestError } from "./client.ts";

/** The client against a small real HTTP server that plays the ingest API's answers. */
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(answers: ((events: unknown[]) => { status: number; body: unknown; headers?: Record<string, string> })[]): Promise<{ url: string; bodies: unknown[][] }> {
  const bodies: unknown[][] = [];
  let call = 0;
  server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      const events = JSON.parse(text) as unknown[];
      bodies.push(events);
      const answer = answers[Math.min(call++, answers.length - 1)]!(events);
      response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, bodies };
}

const event = (index: number) => ({ eventId: `e${index}`, type: "login" as const, customerId: "c", occurredAt: "2024-01-01T00:00:00Z" });

describe("IngestClient", () => {
  it("sends in batches and maps rejections back to indexes of the whole input", async () => {
    // The server rejects the second item of every batch that has one.
    const { url, bodies } = await serve([
      (events) => ({
        status: 202,
        body: events.length > 1 ? { accepted: events.length - 1, rejected: [{ index: 1, eventId: "x", errors: [{ path: "eventId", message: "bad" }] }] } : { accepted: 1, rejected: [] },
      }),
    ]);
    const client = new IngestClient({ baseUrl: url, apiKey: "k", batchSize: 3 });
    const result = await client.send(Array.from({ length: 7 }, (_, index) => event(index)));
    expect(bodies.map((body) => body.length)).toEqual([3, 3, 1]);
    expect(result.accepted).toBe(5);
    expect(result.rejected.map((rejection) => rejection.index)).toEqual([1, 4]);
  });

  it("retries 503 and network-level failures with backoff, then succeeds", async () => {
    const { url, bodies } = await serve([
      () => ({ status: 503, body: { error: { code: "KAFKA_UNAVAILABLE", message: "later" } } }),
      () => ({ status: 500, body: {} }),
      (events) => ({ status: 202, body: { accepted: events.length, rejected: [] } }),
    ]);
    const result = await new IngestClient({ baseUrl: url, apiKey: "k", initialBackoffMs: 5 }).send([event(1), event(2)]);
    expect(result).toMatchObject({ accepted: 2, requests: 3, retries: 2 });
    expect(bodies).toHaveLength(3);
    expect(bodies[0]).toEqual(bodies[2]); // the same events (same ids) are resent
  });

  it("throws the server's error at once on a client error", async () => {
    const { url } = await serve([() => ({ status: 401, body: { error: { code: "UNAUTHORIZED", message: "missing key" } } })]);
    await expect(new IngestClient({ baseUrl: url, apiKey: "k" }).send([event(1)])).rejects.toEqual(new IngestRequestError(401, "UNAUTHORIZED", "missing key"));
  });

  it("throws at once, without retrying, a server error that the same request meets again (KAFKA_REJECTED)", async () => {
    const { url, bodies } = await serve([() => ({ status: 500, body: { error: { code: "KAFKA_REJECTED", message: "MESSAGE_TOO_LARGE" } } })]);
    await expect(new IngestClient({ baseUrl: url, apiKey: "k", initialBackoffMs: 1 }).send([event(1)])).rejects.toEqual(new IngestRequestError(500, "KAFKA_REJECTED", "MESSAGE_TOO_LARGE"));
    expect(bodies).toHaveLength(1);
  });

  it("gives up after the last attempt", async () => {
    const { url } = await serve([() => ({ status: 503, body: { error: { code: "KAFKA_UNAVAILABLE", message: "down" } } })]);
    await expect(new IngestClient({ baseUrl: url, apiKey: "k", maxAttempts: 2, initialBackoffMs: 1 }).send([event(1)])).rejects.toThrow(/after 2 attempts/);
  });

  it("can validate locally with the same contract before sending", async () => {
    const { url, bodies } = await serve([(events) => ({ status: 202, body: { accepted: events.length, rejected: [] } })]);
    const result = await new IngestClient({ baseUrl: url, apiKey: "k", validateLocally: { reportingCurrency: "USD" } }).send([event(1), { ...event(2), occurredAt: "yesterday" }]);
    expect(result.accepted).toBe(1);
    expect(result.rejected).toEqual([{ index: 1, eventId: "e2", errors: [{ path: "occurredAt", message: expect.stringContaining("ISO-8601") }] }]);
    expect(bodies[0]).toHaveLength(1);
  });
});
