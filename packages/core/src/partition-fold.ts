import type { CustomerEvent } from "./contract.ts";
import { hasSeenEvent } from "./seen-events.ts";
import type { LifecycleConfig } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, nextDeadline, type Effect } from "./machine.ts";
import type { CustomerState } from "./state.ts";
import type { EpochMs } from "./time.ts";
import type { ActiveValueModel } from "./value/stream.ts";
import type { ValueModel } from "./value/types.ts";
import type { ActiveAudiences, AudienceDefinitions } from "./audiences/definition.ts";

/**
 * Event-time semantics of one Kafka partition, as a pure function: the processor
 * in `event` clock mode runs exactly this over each batch, with I/O around it.
 *
 * The partition's watermark is the largest event time seen so far. Before each
 * record, every customer's deadlines strictly before (watermark − lateness) fire
 * (at the same instant an event wins, as in applyEvent); then the record is applied
 * to its customer. Because sweeps depend only on the record
 * sequence — never on where batches start and end — splitting a partition's
 * records into any batches gives the same states and the same transitions
 * (property-tested), which is what lets a rebuild reproduce a live run exactly.
 *
 * A clock-advance record says the partition's event time has reached an instant
 * (a replay whose last deadlines lie after its last event): the watermark moves to
 * at least that instant and every deadline at or before it fires. Lateness does not
 * hold it back — it is a statement that event time has passed `clockAdvanceTo`, not an
 * event that may have arrived out of order.
 */
export interface PartitionClock {
  watermark: EpochMs | null;
  /** Deadlines fire only once the watermark is this far past them (allowed lateness); a clock advance fires them at once. */
  latenessMs: number;
}

export interface BatchRecord {
  /** Position in the partition (Kafka offset), for reports. */
  offset: string;
  event: CustomerEvent;
  /** Processing time: the record's Kafka timestamp (how long its event id is kept for dedupe). */
  receivedAt: EpochMs;
}

/** A control record of the partition: its event time has reached `clockAdvanceTo`. */
export interface ClockAdvanceRecord {
  /** Position in the partition (Kafka offset), for reports. */
  offset: string;
  clockAdvanceTo: EpochMs;
}

/**
 * A control record of the partition: from here on, the value model is `model`. It is
 * activated at `activatedAt` (wall clock mode: the record's time) or, when null, at the
 * partition's watermark (event clock mode), so a rebuild activates it at the same instant.
 */
export interface ValueModelRecord {
  offset: string;
  activateValueModel: ValueModel;
  activatedAt: EpochMs | null;
}

/**
 * A control record of the partition: from here on, the audience definitions are `definitions`,
 * activated at `activatedAt` (wall clock) or, when null, at the partition's watermark (event clock).
 */
export interface AudiencesRecord {
  offset: string;
  activateAudiences: AudienceDefinitions;
  activatedAt: EpochMs | null;
}

/** What a partition holds, in order: events, clock advances, value-model and audience activations. */
export type PartitionRecord = BatchRecord | ClockAdvanceRecord | ValueModelRecord | AudiencesRecord;

export function isAudiencesActivation(record: PartitionRecord): record is AudiencesRecord {
  return "activateAudiences" in record;
}

export function isClockAdvance(record: PartitionRecord): record is ClockAdvanceRecord {
  return "clockAdvanceTo" in record;
}

export function isValueModelActivation(record: PartitionRecord): record is ValueModelRecord {
  return "activateValueModel" in record;
}

export interface BatchResult {
  /** Customers whose state changed, with their state after the batch. */
  changed: Map<string, CustomerState>;
  /** The next deadline of every changed customer (null: none), for the timer index. */
  deadlines: Map<string, EpochMs | null>;
  /** Effects in the order they happened, each with the record it belongs to (null for timers). */
  effects: { offset: string | null; effect: Effect }[];
  watermark: EpochMs | null;
  /** The value model active after the batch. */
  value: ActiveValueModel | null;
  /** The audience definitions active after the batch. */
  audiences: ActiveAudiences | null;
  /** The latest instant a sweep of this batch fired deadlines through (null: none swept). */
  sweptThrough: EpochMs | null;
}

/**
 * Folds a batch of a partition's records. `states` holds the current state of every
 * customer in the batch and of every customer whose deadline is ≤ the batch's final
 * watermark − lateness (the caller loads them; see dueBefore()). It is not mutated.
 */
export function foldPartitionBatch(
  states: ReadonlyMap<string, CustomerState>,
  records: readonly PartitionRecord[],
  clock: PartitionClock,
  config: LifecycleConfig,
  activeValue: ActiveValueModel | null = null,
  activeAudiences: ActiveAudiences | null = null,
): BatchResult {
  let value = activeValue;
  let audiences = activeAudiences;
  const current = new Map(states);
  const changed = new Map<string, CustomerState>();
  const effects: BatchResult["effects"] = [];
  const timers = new DeadlineHeap();
  const deadlines = new Map<string, EpochMs | null>();
  // No sweep of this batch reaches past the horizon: later deadlines need no heap entry.
  const horizon = sweepHorizon(records, clock);
  const schedule = (customerId: string, state: CustomerState) => {
    const deadline = nextDeadline(state, config, value, audiences);
    deadlines.set(customerId, deadline);
    if (deadline !== null && horizon !== null && deadline <= horizon) timers.push(deadline, customerId);
  };
  for (const [customerId, state] of current) schedule(customerId, state);
  let watermark = clock.watermark;

  let sweptThrough: EpochMs | null = null;
  const sweep = (until: EpochMs) => {
    if (sweptThrough === null || until > sweptThrough) sweptThrough = until;
    for (let top = timers.peek(); top !== undefined && top.at <= until; top = timers.peek()) {
      timers.pop();
      if (deadlines.get(top.customerId) !== top.at) continue; // stale heap entry: the state moved on
      const state = current.get(top.customerId)!;
      const step = advanceTo(state, until, config, value, audiences);
      if (step.state !== state) {
        current.set(top.customerId, step.state);
        changed.set(top.customerId, step.state);
        for (const effect of step.effects) effects.push({ offset: null, effect });
      }
      schedule(top.customerId, step.state);
    }
  };

  for (const record of records) {
    if (isAudiencesActivation(record)) {
      audiences = { definitions: record.activateAudiences, activatedAt: record.activatedAt ?? watermark ?? 0, previous: audiences };
      // Loaded customers are due at their refit instant now; the others are reached by the processor's audience sweep.
      for (const [customerId, state] of current) schedule(customerId, state);
      continue;
    }
    if (isValueModelActivation(record)) {
      value = { model: record.activateValueModel, activatedAt: record.activatedAt ?? watermark ?? 0 };
      // Loaded customers are due at their refit instant now; the others are reached by the processor's refit sweep.
      for (const [customerId, state] of current) schedule(customerId, state);
      continue;
    }
    if (isClockAdvance(record)) {
      watermark = watermark === null ? record.clockAdvanceTo : Math.max(watermark, record.clockAdvanceTo);
      sweep(record.clockAdvanceTo);
      continue;
    }
    const { event } = record;
    const known = current.get(event.customerId);
    // A repeat is not a new event in any way: it neither moves the watermark nor sweeps,
    // so a log with repeats ends exactly as the log without them.
    if (known === undefined || !hasSeenEvent(known, event.eventId)) {
      watermark = watermark === null ? event.occurredAt : Math.max(watermark, event.occurredAt);
      sweep(watermark - clock.latenessMs - 1);
    }
    const step = applyEvent(current.get(event.customerId), event, config, record.receivedAt, value, audiences);
    for (const effect of step.effects) effects.push({ offset: record.offset, effect });
    if (step.state !== undefined && step.state !== current.get(event.customerId)) {
      current.set(event.customerId, step.state);
      changed.set(event.customerId, step.state);
      schedule(event.customerId, step.state);
    }
  }
  const changedDeadlines = new Map<string, EpochMs | null>();
  for (const customerId of changed.keys()) changedDeadlines.set(customerId, deadlines.get(customerId) ?? null);
  return { changed, deadlines: changedDeadlines, effects, watermark, value, audiences, sweptThrough };
}

/** A binary min-heap of (deadline, customer). */
class DeadlineHeap {
  private readonly items: { at: number; customerId: string }[] = [];

  push(at: number, customerId: string): void {
    const items = this.items;
    items.push({ at, customerId });
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]!.at <= items[index]!.at) break;
      swap(items, parent, index);
      index = parent;
    }
  }

  peek(): { at: number; customerId: string } | undefined {
    return this.items[0];
  }

  pop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && items[left]!.at < items[smallest]!.at) smallest = left;
      if (right < items.length && items[right]!.at < items[smallest]!.at) smallest = right;
      if (smallest === index) return;
      swap(items, smallest, index);
      index = smallest;
    }
  }
}

/** In place, without the array a destructuring swap allocates. */
function swap<T>(items: T[], left: number, right: number): void {
  const held = items[left]!;
  items[left] = items[right]!;
  items[right] = held;
}

/** The latest instant a batch's sweeps can reach: load every customer with a deadline at or before it. */
export function sweepHorizon(records: readonly PartitionRecord[], clock: PartitionClock): EpochMs | null {
  let watermark = clock.watermark;
  let advancedTo: EpochMs | null = null;
  for (const record of records) {
    if (isValueModelActivation(record) || isAudiencesActivation(record)) continue;
    const at = isClockAdvance(record) ? record.clockAdvanceTo : record.event.occurredAt;
    watermark = watermark === null ? at : Math.max(watermark, at);
    if (isClockAdvance(record)) advancedTo = advancedTo === null ? at : Math.max(advancedTo, at);
  }
  const eventSweeps = watermark === null ? null : watermark - clock.latenessMs - 1;
  if (advancedTo === null) return eventSweeps;
  return eventSweeps === null ? advancedTo : Math.max(eventSweeps, advancedTo);
}
