/**
 * What applying the customer-value model costs the stream:
 *   npm run bench -- value-stream [--events 300000] [--seed 7]
 * The same events folded by the pure core as the processor folds them (coreCeiling: per-partition
 * batches, each loading only the customers it needs), once without a value model and once with one
 * fitted to the same events (BG/NBD + Gamma-Gamma, tier cuts at the configured quantiles), on the
 * CDNOW master log and on synthetic events. Prints events/s of both and their ratio, measured in
 * the same run, and how many tier changes the model made. Pure: it needs none of the stack's servers.
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_LIFECYCLE_CONFIG,
  fitBgnbd,
  fitGammaGamma,
  MONEY_SCALE,
  predictValue,
  summarizeTransactions,
  utcDay,
  type ActiveValueModel,
  type CustomerEvent,
  type ValueModel,
} from "@clm/core";
import { readCdnowCustomerEvents, syntheticEvents } from "@clm/datasets";
import { coreCeiling } from "./core-ceiling.ts";
import { machine } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "300000" }, seed: { type: "string", default: "7" } } });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const PARTITIONS = 12;

/** A model fitted to the events up to their middle day, cut as the fit workflow cuts it. */
function fitTo(events: readonly CustomerEvent[]): ActiveValueModel {
  const purchases = events.flatMap((event) => (event.type === "purchase" ? [{ customerId: event.customerId, day: utcDay(event.occurredAt), amount: event.properties.amountE4 / MONEY_SCALE }] : []));
  const days = purchases.map((purchase) => purchase.day).sort((left, right) => left - right);
  const calibrationEnd = days[Math.floor(days.length / 2)]!;
  const summaries = [...summarizeTransactions(purchases, calibrationEnd, "week").values()];
  const bgnbd = fitBgnbd(summaries);
  const gammaGamma = fitGammaGamma(summaries);
  const clvs = summaries.map((summary) => predictValue({ bgnbd, gammaGamma, unit: "week" }, summary, lifecycle.value.purchaseHorizonDays, lifecycle.value.clv).clv).sort((left, right) => left - right);
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const monetary = new Map<string, number>();
  for (const purchase of purchases) if (purchase.day <= calibrationEnd) monetary.set(purchase.customerId, (monetary.get(purchase.customerId) ?? 0) + purchase.amount);
  const monetarySorted = [...monetary.values()].sort((left, right) => left - right);
  const model: ValueModel = {
    version: "m-2000-01-01-00000000",
    calibrationEnd: new Date(calibrationEnd * 86_400_000).toISOString().slice(0, 10),
    unit: "week",
    fittedAt: new Date(0).toISOString(),
    bgnbd,
    gammaGamma,
    tierCuts: { highValueClv: at(clvs, lifecycle.value.tiers.highValueQuantile), potentialClv: at(clvs, lifecycle.value.tiers.potentialQuantile), warningMonetary: at(monetarySorted, lifecycle.value.tiers.warningMonetaryQuantile) },
  };
  return { model, activatedAt: 0 };
}

function measure(label: string, events: readonly CustomerEvent[]): void {
  const value = fitTo(events);
  const options = { partitions: PARTITIONS, lifecycle, latenessMs: 0 };
  // Warm both paths once, then alternate so drift on a shared machine hits both alike.
  coreCeiling(events.slice(0, Math.min(events.length, 20_000)), options);
  coreCeiling(events.slice(0, Math.min(events.length, 20_000)), { ...options, value });
  const without: number[] = [];
  const withModel: number[] = [];
  let tierChanges = 0;
  for (let round = 0; round < 3; round++) {
    without.push(coreCeiling(events, options).eventsPerSecond);
    const result = coreCeiling(events, { ...options, value });
    withModel.push(result.eventsPerSecond);
    tierChanges = result.tierChanges;
  }
  const median = (samples: number[]) => [...samples].sort((left, right) => left - right)[1]!;
  const base = median(without);
  const valued = median(withModel);
  console.log(
    `  ${label.padEnd(28)} ${events.length.toLocaleString("en-US").padStart(9)} events  without model ${base.toLocaleString("en-US").padStart(9)} events/s  with model ${valued.toLocaleString("en-US").padStart(9)} events/s  ratio ${(valued / base).toFixed(2)}  tier changes ${tierChanges.toLocaleString("en-US")}`,
  );
}

console.log(`value-stream bench — ${JSON.stringify(machine())}`);
console.log("  The pure core's fold (median of 3) without and with a value model fitted to the same events; ratio = with / without.");
measure("CDNOW master", (await readCdnowCustomerEvents()).sort((left, right) => left.occurredAt - right.occurredAt));
measure("synthetic", syntheticEvents({ seed: Number(values.seed), events: Number(values.events) }).sort((left, right) => left.occurredAt - right.occurredAt));
