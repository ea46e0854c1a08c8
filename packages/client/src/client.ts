import { Backoff } from "@clm/backoff";
import { createInputEventSchema, parseInputEvent, type FieldError } from "@clm/core";
import type { z } from "zod";

/** An event as the ingest API takes it (the JSON form of the contract in @clm/core). */
export type InputEvent = z.input<ReturnType<typeof createInputEventSchema>>;

export interface SendResult {
  accepted: number;
  rejected: { index: number; eventId?: string; errors: FieldError[] }[];
  requests: number;
  retries: number;
}

export interface ClientOptions {
  baseUrl: string;
  /** A write key (INGEST_API_KEYS on the server). */
  apiKey: string;
  /** Events per request (the server's limit is INGEST_MAX_BATCH_EVENTS). */
  batchSize?: number;
  /** Attempts per batch on 429/5xx/network errors, with exponential backoff and jitter. */
  maxAttempts?: number;
  initialBackoffMs?: number;
  /** Check events locally with the same zod schema before sending (rejections come back the same way). */
  validateLocally?: { reportingCurrency: string };
  fetch?: typeof fetch;
  onProgress?: (sent: number, total: number) => void;
}

export class IngestRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "IngestRequestError";
  }
}

/** Server errors that the same request meets again however often it is sent (docs/ingest.md). */
const NOT_RETRIED_CODES: ReadonlySet<string> = new Set(["KAFKA_REJECTED"]);

/**
 * Sends events to the ingest API in batches. A batch that meets 429, 5xx or a
 * network error is retried with backoff (same eventIds: the pipeline drops
 * repeats, so a retry never double-counts); a 4xx other than 429, and a 5xx whose
 * code says a retry cannot succeed (KAFKA_REJECTED), are thrown at once.
 * Item-level rejections are collected, with indexes into the whole input.
 */
export class IngestClient {
  private readonly options: Required<Omit<ClientOptions, "validateLocally" | "onProgress">> & Pick<ClientOptions, "validateLocally" | "onProgress">;

  constructor(options: ClientOptions) {
    this.options = { batchSize: 500, maxAttempts: 6, initialBackoffMs: 200, fetch: globalThis.fetch, ...options };
  }

  async send(events: readonly InputEvent[]): Promise<SendResult> {
    const result: SendResult = { accepted: 0, rejected: [], requests: 0, retries: 0 };
    const schema = this.options.validateLocally ? createInputEventSchema(this.options.validateLocally) : null;
    for (let start = 0; start < events.length; start += this.options.batchSize) {
      let batch = events.slice(start, start + this.options.batchSize).map((event, offset) => ({ event, index: start + offset }));
      if (schema) {
        batch = batch.filter(({ event, index }) => {
          const parsed = parseInputEvent(schema, event);
          if (!parsed.ok) result.rejected.push({ index, ...(typeof event.eventId === "string" ? { eventId: event.eventId } : {}), errors: parsed.errors });
          return parsed.ok;
        });
      }
      if (batch.length > 0) {
        const answer = await this.post(batch.map(({ event }) => event), result);
        result.accepted += answer.accepted;
        for (const rejection of answer.rejected) result.rejected.push({ ...rejection, index: batch[rejection.index]?.index ?? -1 });
      }
      this.options.onProgress?.(Math.min(events.length, start + this.options.batchSize), events.length);
    }
    return result;
  }

  private async post(events: readonly InputEvent[], result: SendResult): Promise<{ accepted: number; rejected: SendResult["rejected"] }> {
    const body = JSON.stringify(events);
    const backoff = new Backoff({ initialMs: this.options.initialBackoffMs, maxMs: this.options.initialBackoffMs * 2 ** this.options.maxAttempts, jitter: "half" });
    for (let attempt = 1; ; attempt++) {
      result.requests++;
      let retryable: string;
      try {
        const response = await this.options.fetch(`${this.options.baseUrl.replace(/\/$/, "")}/v1/events`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", authorization: `Bearer ${this.options.apiKey}` },
        });
        if (response.status === 202) return (await response.json()) as { accepted: number; rejected: SendResult["rejected"] };
        const error = ((await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }).error ?? {};
        if ((response.status !== 429 && response.status < 500) || NOT_RETRIED_CODES.has(error.code ?? "")) throw new IngestRequestError(response.status, error.code ?? "UNKNOWN", error.message ?? response.statusText);
        retryable = `${response.status} ${error.code ?? ""}`;
        const retryAfter = Number(response.headers.get("retry-after"));
        if (attempt < this.options.maxAttempts && Number.isFinite(retryAfter) && retryAfter > 0) {
          result.retries++;
          await sleep(Math.min(retryAfter * 1000, 30_000));
          continue;
        }
      } catch (error) {
        if (error instanceof IngestRequestError) throw error;
        retryable = (error as Error).message;
      }
      if (attempt >= this.options.maxAttempts) throw new Error(`ingest failed after ${attempt} attempts: ${retryable}`);
      result.retries++;
      await sleep(backoff.next());
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
