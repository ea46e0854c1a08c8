import { createHash } from "node:crypto";
import { signatureHeader, signingSecrets, type ClaimedLane, type DeadLetter, type DeliveryQueue, type Destination, type Tries } from "@clm/destinations";
import type { Logger } from "@clm/observability";
import type { WebhooksMetrics } from "./metrics.ts";
import { failureReason, nextAttemptAt, verdictOf, type RetrySchedule } from "./retry-policy.ts";
import type { Send } from "./sender.ts";

export interface WorkerOptions {
  queue: DeliveryQueue;
  /** The destination as last loaded (its URL, batch size and secrets may change while the worker runs). */
  destination: () => Destination;
  send: Send;
  schedule: RetrySchedule;
  /** Lanes delivered at once: the most requests this destination has open. */
  maxInFlight: number;
  requestTimeoutMs: number;
  /** How long without a poke the worker waits before looking for due lanes again. */
  idlePollMs: number;
  metrics: WebhooksMetrics;
  logger: Logger;
  /** Wall time (ms). */
  now: () => number;
  /** How long a claimed lane stays leased; default the request timeout plus 30 s. */
  leaseMs?: number;
}

/** Heads a lane delivers in a row before it queues for a slot again. */
const LANE_STREAK = 16;

/** The webhook-id of a batch: derived from its messages' ids, so the same batch retried keeps it. */
export function batchWebhookId(ids: readonly string[]): string {
  return `batch_${createHash("sha256").update(ids.join("\n")).digest("base64url").slice(0, 32)}`;
}

/**
 * Delivers one destination's queue: claims due lanes (up to maxInFlight at once, each leased in
 * Redis for the request's length), sends each lane's head — one message, or with maxBatch > 1 up to
 * that many as a JSON array — signed per Standard Webhooks, and acknowledges, reschedules or
 * dead-letters it in Redis. A lane waits only for its own head; other lanes and other destinations go on.
 */
export class DestinationWorker {
  private inFlight = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private poke: (() => void) | null = null;
  private readonly lanes = new Set<Promise<void>>();
  private readonly requests = new Set<Promise<unknown>>();

  /** The lease outlives a request, so a live holder always finishes first; a dead one's lanes come back when it ends. */
  private readonly leaseMs: number;

  constructor(private readonly options: WorkerOptions) {
    this.leaseMs = options.leaseMs ?? options.requestTimeoutMs + 30_000;
  }

  get id(): string {
    return this.options.destination().id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New messages may be due: look now instead of at the next poll. */
  wake(): void {
    this.poke?.();
  }

  /** Resolves when the requests open now have ended (each ends within the request timeout). */
  async requestsSettled(): Promise<void> {
    await Promise.allSettled([...this.requests]);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.lanes]);
  }

  private async run(): Promise<void> {
    const { queue, logger, now, idlePollMs } = this.options;
    while (this.running) {
      let waitMs = idlePollMs;
      try {
        const free = this.options.maxInFlight - this.inFlight;
        if (free > 0) {
          const destination = this.options.destination();
          const at = now();
          const claimed = await queue.claim(destination, at, at + this.leaseMs, free);
          for (const lane of claimed) this.deliverInBackground(lane);
          if (claimed.length === free) continue;
          const due = await queue.nextDue(destination.id);
          if (due !== null) waitMs = Math.max(0, Math.min(idlePollMs, due - now()));
        }
      } catch (error) {
        logger.warn({ err: error, destination: this.id }, "reading the delivery queue failed; trying again");
        waitMs = 1000;
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.poke = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.poke = null;
    }
  }

  private deliverInBackground(claimed: ClaimedLane): void {
    this.inFlight++;
    const task = (async () => {
      // A busy lane keeps its slot for a few heads in a row (no claim between them), then goes back
      // behind the lanes that wait, so at most maxInFlight lanes hold slots and none starves.
      let lane: ClaimedLane | null = claimed;
      for (let streak = 1; lane !== null; streak++) lane = await this.deliver(lane, streak < LANE_STREAK && this.running);
    })()
      .catch((error: unknown) => this.options.logger.warn({ err: error, destination: this.id, lane: claimed.lane }, "recording a delivery failed; the lane is tried again when its lease ends"))
      .finally(() => {
        this.inFlight--;
        this.lanes.delete(task);
        this.wake();
      });
    this.lanes.add(task);
  }

  /** Sends the lane's head and records the outcome; returns the lane's next head when `goOn` and it was delivered. */
  private async deliver(lane: ClaimedLane, goOn: boolean): Promise<ClaimedLane | null> {
    const { queue, metrics, now, schedule, send } = this.options;
    const destination = this.options.destination();
    const entries = lane.messages;
    if (entries.length === 0) return null;
    const ids = entries.map((entry) => entry.message.id);
    const batched = destination.maxBatch > 1;
    const body = batched ? `[${entries.map((entry) => entry.message.body).join(",")}]` : entries[0]!.message.body;
    const webhookId = batched ? batchWebhookId(ids) : ids[0]!;
    const sentAt = now();
    const timestamp = Math.floor(sentAt / 1000);
    // Signed and sent in this same tick as the destination was read: requestsSettled() then covers
    // every request signed with settings older than the destination the dispatcher holds.
    const request = send({
      url: destination.url,
      body,
      timeoutMs: this.options.requestTimeoutMs,
      headers: {
        "content-type": "application/json",
        "user-agent": "clm-webhooks/0.1",
        "webhook-id": webhookId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(signingSecrets(destination, sentAt), webhookId, timestamp, body),
      },
    });
    this.requests.add(request);
    const result = await request.finally(() => this.requests.delete(request));
    const at = now();
    const verdict = verdictOf(result, at);
    const labels = { destination: destination.id };
    if (verdict.kind === "delivered") {
      const acked = await queue.ack(destination.id, lane.lane, ids, at, goOn ? { leaseUntil: at + this.leaseMs, maxBatch: destination.maxBatch } : undefined);
      metrics.delivered.inc(labels, entries.length);
      metrics.requests.inc({ ...labels, outcome: "delivered" });
      for (const entry of entries) metrics.latency.observe(labels, Math.max(0, at - entry.message.createdAt) / 1000);
      return acked.next;
    }
    metrics.failedAttempts.inc({ ...labels, reason: failureReason(result) });
    const head = entries[0]!.tries;
    const tries = (entry: (typeof entries)[number]): Tries => ({
      attempts: (entry.tries?.attempts ?? 0) + 1,
      firstAttemptAt: entry.tries?.firstAttemptAt ?? sentAt,
      lastError: verdict.reason,
    });
    const next = verdict.kind === "retry" ? nextAttemptAt((head?.attempts ?? 0) + 1, head?.firstAttemptAt ?? sentAt, verdict.notBefore, at, schedule) : null;
    if (next !== null) {
      await queue.retry(destination.id, lane.lane, entries.map((entry) => ({ id: entry.message.id, tries: tries(entry) })), next);
      metrics.retried.inc(labels, entries.length);
      metrics.requests.inc({ ...labels, outcome: "retry" });
      return null;
    }
    const reason = verdict.kind === "permanent" ? "permanent" : "expired";
    const letters: DeadLetter[] = entries.map((entry) => ({ id: entry.message.id, lane: lane.lane, message: entry.message, reason, ...tries(entry), deadAt: at }));
    await queue.deadLetter(destination.id, lane.lane, letters, at);
    metrics.deadLettered.inc({ ...labels, reason }, entries.length);
    metrics.requests.inc({ ...labels, outcome: "dead_letter" });
    this.options.logger.warn({ destination: destination.id, ids: ids.slice(0, 5), count: ids.length, reason: verdict.reason, kind: reason }, "webhook dead-lettered; the lane goes on");
    return null;
  }
}
