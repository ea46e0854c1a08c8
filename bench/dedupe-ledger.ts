/**
 * What the exact dedupe ledger costs, per retained id and per customer:
 *   npm run bench -- dedupe-ledger [--events 1000000] [--seed 42]
 * Folds the real CDNOW log and a synthetic population through the pure core in two arrival
 * patterns — a backfill (every event arrives at once, so every id is retained) and live
 * (each event arrives at its event time, so a customer keeps its last 7 days of ids) — and
 * reports the packed state with and without its ledger, bytes per retained id, Redis's
 * MEMORY USAGE of a sample of states written both ways, and the fold's rate against the same
 * fold with a ledger that keeps almost nothing (retention of one second): the ratio is the
 * ledger's cost on the hot path.
 */
import { parseArgs } from "node:util";
import { applyEvent, encodeState, parseLifecycleConfig, type CustomerEvent, type CustomerState, type LifecycleConfig } from "@clm/core";
import { CDNOW_MASTER_PATH, readCdnowCustomerEvents, syntheticEvents } from "@clm/datasets";
import { Redis } from "ioredis";
import { machine } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" } } });
const SAMPLE = 20_000;
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:16379");

type Arrival = "backfill" | "live";

function foldAll(events: readonly CustomerEvent[], config: LifecycleConfig, arrival: Arrival): { states: Map<string, CustomerState>; seconds: number } {
  const states = new Map<string, CustomerState>();
  const started = performance.now();
  const backfillAt = Date.UTC(2026, 0, 1);
  for (const event of events) {
    const step = applyEvent(states.get(event.customerId), event, config, arrival === "backfill" ? backfillAt : event.occurredAt);
    if (step.state !== undefined) states.set(event.customerId, step.state);
  }
  return { states, seconds: (performance.now() - started) / 1000 };
}

async function memoryUsage(values: readonly Uint8Array[]): Promise<number> {
  const prefix = `bench-ledger-${process.pid}`;
  const keys = values.map((_, index) => `${prefix}:{p0}:c:customer-${index}`);
  const pipeline = redis.pipeline();
  values.forEach((value, index) => pipeline.set(keys[index]!, Buffer.from(value)));
  await pipeline.exec();
  const usage = redis.pipeline();
  for (const key of keys) usage.memory("USAGE", key);
  const results = (await usage.exec()) ?? [];
  await redis.unlink(...keys);
  return results.reduce((sum, [, bytes]) => sum + Number(bytes), 0) / keys.length;
}

async function measure(name: string, events: readonly CustomerEvent[], arrival: Arrival) {
  const config = parseLifecycleConfig({});
  const { states, seconds } = foldAll(events, config, arrival);
  const minimal = foldAll(events, parseLifecycleConfig({ dedupe: { retentionDays: 1 / 86_400 } }), arrival);
  let withLedger = 0;
  let withoutLedger = 0;
  let ids = 0;
  const sampleWith: Uint8Array[] = [];
  const sampleWithout: Uint8Array[] = [];
  for (const state of states.values()) {
    const packed = encodeState(state);
    const bare = encodeState({ ...state, seenEventIds: [], seenReceivedAt: [] });
    withLedger += packed.length;
    withoutLedger += bare.length;
    ids += state.seenEventIds.length;
    if (sampleWith.length < SAMPLE) {
      sampleWith.push(packed);
      sampleWithout.push(bare);
    }
  }
  const customers = states.size;
  const result = {
    data: name,
    arrival,
    events: events.length,
    customers,
    retainedIdsPerCustomer: Number((ids / customers).toFixed(2)),
    packedStateBytes: Number((withLedger / customers).toFixed(1)),
    packedStateWithoutLedgerBytes: Number((withoutLedger / customers).toFixed(1)),
    ledgerBytesPerCustomer: Number(((withLedger - withoutLedger) / customers).toFixed(1)),
    bytesPerRetainedId: ids === 0 ? null : Number(((withLedger - withoutLedger) / ids).toFixed(2)),
    redisMemoryUsageBytes: Math.round(await memoryUsage(sampleWith)),
    redisMemoryUsageWithoutLedgerBytes: Math.round(await memoryUsage(sampleWithout)),
    foldEventsPerSecond: Math.round(events.length / seconds),
    foldMinimalLedgerEventsPerSecond: Math.round(events.length / minimal.seconds),
  };
  console.log(
    `${name} (${arrival}): ${result.customers.toLocaleString("en-US")} customers, ${result.retainedIdsPerCustomer} ids retained each; ` +
      `packed state ${result.packedStateBytes} B (${result.packedStateWithoutLedgerBytes} B without the ledger), ${result.bytesPerRetainedId ?? "–"} B per retained id; ` +
      `Redis MEMORY USAGE ${result.redisMemoryUsageBytes} B (${result.redisMemoryUsageWithoutLedgerBytes} B without); ` +
      `fold ${result.foldEventsPerSecond.toLocaleString("en-US")} events/s vs ${result.foldMinimalLedgerEventsPerSecond.toLocaleString("en-US")} with a near-empty ledger (ratio ${(result.foldEventsPerSecond / result.foldMinimalLedgerEventsPerSecond).toFixed(2)})`,
  );
  return result;
}

const cdnow = await readCdnowCustomerEvents(CDNOW_MASTER_PATH);
const synthetic = syntheticEvents({ seed: Number(values.seed), events: Number(values.events) }).sort((left, right) => left.occurredAt - right.occurredAt);
const results = [];
for (const [name, events] of [["CDNOW", cdnow], [`synthetic ${Number(values.events).toLocaleString("en-US")}`, synthetic]] as const) {
  for (const arrival of ["backfill", "live"] as const) results.push(await measure(name, events, arrival));
}
console.log(JSON.stringify({ benchmark: "dedupe-ledger", at: new Date().toISOString(), machine: machine(), results }));
await redis.quit();
