/**
 * Replays the real CDNOW log through the pure lifecycle core in memory and prints
 * the stage distribution, RFM segment counts and the fold's speed on one core.
 *   npm run replay [-- --file data/cdnow/CDNOW_sample.txt] [--until 1998-07-01]
 */
import { parseArgs } from "node:util";
import {
  computeRfmBoundaries,
  DEFAULT_LIFECYCLE_CONFIG,
  encodeState,
  replayPopulation,
  rfmScores,
  RFM_SEGMENTS,
  stageDistribution,
  STAGES,
} from "@clm/core";
import { CDNOW_MASTER_PATH, readCdnowCustomerEvents } from "@clm/datasets";

const { values } = parseArgs({
  options: { file: { type: "string", default: CDNOW_MASTER_PATH }, until: { type: "string", default: "1998-07-01" }, rounds: { type: "string", default: "5" } },
});
const until = Date.parse(`${values.until}T00:00:00Z`);
const config = DEFAULT_LIFECYCLE_CONFIG;

const events = await readCdnowCustomerEvents(values.file);

// Time the pure fold (events + timers to the end); the first rounds warm the JIT.
const rounds = Number(values.rounds);
const timings: number[] = [];
let replay = replayPopulation(events, config, until);
for (let round = 0; round < rounds; round++) {
  const started = process.hrtime.bigint();
  replay = replayPopulation(events, config, until);
  timings.push(Number(process.hrtime.bigint() - started) / 1e6);
}
timings.sort((left, right) => left - right);
const medianMs = timings[Math.floor(timings.length / 2)]!;

const line = (label: string, count: number, total: number) =>
  `  ${label.padEnd(20)} ${String(count).padStart(7)}  ${((100 * count) / total).toFixed(1).padStart(5)}%`;

console.log(`CDNOW replay: ${events.length} purchases, ${replay.states.size} customers, evaluated at ${values.until}`);
console.log(`\nStage distribution`);
const distribution = stageDistribution(replay.states.values(), STAGES);
for (const stage of STAGES) console.log(line(stage, distribution[stage], replay.states.size));

const boundaries = computeRfmBoundaries(replay.states.values(), until);
const segments = new Map<string, number>(RFM_SEGMENTS.map((segment) => [segment, 0]));
for (const state of replay.states.values()) {
  const scores = rfmScores(state, until, boundaries);
  if (scores) segments.set(scores.segment, segments.get(scores.segment)! + 1);
}
console.log(`\nRFM segments (quantiles: recency days ${boundaries.recencyDays.map((value) => value.toFixed(0)).join("/")}, frequency ${boundaries.frequency.join("/")})`);
for (const [segment, count] of [...segments].sort((left, right) => right[1] - left[1])) console.log(line(segment, count, replay.states.size));

const byPair = new Map<string, number>();
for (const transition of replay.transitions) {
  const key = `${transition.from ?? "∅"} → ${transition.to}`;
  byPair.set(key, (byPair.get(key) ?? 0) + 1);
}
console.log(`\nTransitions (${replay.transitions.length})`);
for (const [pair, count] of [...byPair].sort((left, right) => right[1] - left[1])) console.log(`  ${pair.padEnd(24)} ${String(count).padStart(7)}`);

const sizes = [...replay.states.values()].map((state) => encodeState(state).length).sort((left, right) => left - right);
const percentile = (q: number) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))]!;
console.log(
  `\nPacked state (Redis value): mean ${(sizes.reduce((sum, size) => sum + size, 0) / sizes.length).toFixed(1)} B, median ${percentile(0.5)} B, p99 ${percentile(0.99)} B, max ${sizes[sizes.length - 1]} B per customer`,
);
console.log(
  `\nPure fold: median ${medianMs.toFixed(0)} ms over ${rounds} rounds → ${Math.round(events.length / (medianMs / 1000)).toLocaleString("en-US")} events/s on one core (incl. ${replay.transitions.length} transitions and timers to the end)`,
);
