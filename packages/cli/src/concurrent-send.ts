import type { SendResult } from "@clm/client";

/**
 * Sends `events` in slices of `batch` with up to `concurrency` requests in flight, and merges
 * the answers: rejection indexes point into the whole input. Slices are handed out in order,
 * so the stream stays nearly in order (at most `concurrency` batches overlap).
 */
export async function sendConcurrently<E>(
  events: readonly E[],
  options: { batch: number; concurrency: number; send: (slice: readonly E[]) => Promise<SendResult>; onProgress?: (sent: number) => void },
): Promise<SendResult> {
  const total: SendResult = { accepted: 0, rejected: [], requests: 0, retries: 0 };
  let next = 0;
  let sent = 0;
  let failed = false;
  const worker = async () => {
    // After one slice fails for good (the client already retried it), the others stop taking work.
    while (next < events.length && !failed) {
      const start = next;
      next += options.batch;
      const slice = events.slice(start, start + options.batch);
      const result = await options.send(slice).catch((error: unknown) => {
        failed = true;
        throw error;
      });
      total.accepted += result.accepted;
      total.requests += result.requests;
      total.retries += result.retries;
      for (const rejection of result.rejected) total.rejected.push({ ...rejection, index: start + rejection.index });
      sent += slice.length;
      options.onProgress?.(sent);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, Math.ceil(events.length / options.batch))) }, worker));
  total.rejected.sort((left, right) => left.index - right.index);
  return total;
}
