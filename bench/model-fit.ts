/**
 * What fitting and applying the customer-value model costs on the full CDNOW master log:
 *   npm run bench -- model-fit [--repetitions 5]
 * Summarises the 23,570 customers at two calibration ends (1997-09-30, as in the BG/NBD paper,
 * and the whole log to 1998-06-30), fits BG/NBD and Gamma-Gamma a few times each (median time),
 * and prints the parameters, log-likelihoods and iterations. Two baselines measured in the same
 * run give each fit a ratio: the time to summarise the log (the fit's own input), and the time the
 * fit would take with one likelihood per customer instead of per distinct input (one ungrouped
 * evaluation × the evaluations the fit used). Then microseconds per call of what the stream calls
 * per event: P(alive), expected purchases, predicted CLV (d = 0 and 0.01) and the CLV crossing.
 * Pure math: it needs none of the stack's servers.
 */
import { parseArgs } from "node:util";
import {
  bgnbdExpectedPurchases,
  bgnbdPAlive,
  bgnbdTotalLogLikelihood,
  clvFallsBelowT,
  DAY_MS,
  fitBgnbdReport,
  fitGammaGammaReport,
  gammaGammaTotalLogLikelihood,
  MONEY_SCALE,
  predictedClv,
  summarizeTransactions,
  type BgnbdParams,
  type ClvOptions,
  type GammaGammaParams,
  type ValueTransaction,
  type ValueSummary,
} from "@clm/core";
import { CDNOW_MASTER_PATH, readCdnowCustomerEvents } from "@clm/datasets";
import { machine } from "./support.ts";

const { values } = parseArgs({ options: { repetitions: { type: "string", default: "5" } } });
const REPETITIONS = Number(values.repetitions);
const UNIT = "week";
const PURCHASE_HORIZON_WEEKS = 90 / 7;

function median(samples: number[]): number {
  const sorted = [...samples].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median seconds of `repetitions` runs, and the last result. */
function timed<T>(repetitions: number, run: () => T): { seconds: number; result: T } {
  const seconds: number[] = [];
  let result: T | undefined;
  for (let index = 0; index < repetitions; index++) {
    const started = performance.now();
    result = run();
    seconds.push((performance.now() - started) / 1000);
  }
  return { seconds: median(seconds), result: result! };
}

/** Microseconds per call of `call` over the summaries, repeated until at least `minCalls` calls. */
function perCall(summaries: readonly ValueSummary[], minCalls: number, call: (summary: ValueSummary) => number): { microseconds: number; calls: number; checksum: number } {
  let calls = 0;
  let checksum = 0;
  const started = performance.now();
  while (calls < minCalls) {
    for (const summary of summaries) checksum += call(summary);
    calls += summaries.length;
  }
  return { microseconds: ((performance.now() - started) * 1000) / calls, calls, checksum };
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));
const rounded = <T extends object>(fit: T, digits: number) => Object.fromEntries(Object.entries(fit).map(([key, value]) => [key, round(value as number, digits)])) as { [K in keyof T]: number };

const events = await readCdnowCustomerEvents(CDNOW_MASTER_PATH);
const transactions: ValueTransaction[] = events.flatMap((event) =>
  event.type === "purchase" ? [{ customerId: event.customerId, day: Math.floor(event.occurredAt / DAY_MS), amount: event.properties.amountE4 / MONEY_SCALE }] : [],
);
const results = [];
for (const calibrationEnd of ["1997-09-30", "1998-06-30"]) {
  const endDay = Date.parse(`${calibrationEnd}T00:00:00Z`) / DAY_MS;
  const summarised = timed(REPETITIONS, () => summarizeTransactions(transactions, endDay, UNIT));
  const summaries = [...summarised.result.values()];
  const bg = timed(REPETITIONS, () => fitBgnbdReport(summaries));
  const gg = timed(REPETITIONS, () => fitGammaGammaReport(summaries));
  const bgOneEvaluation = timed(REPETITIONS, () => bgnbdTotalLogLikelihood(bg.result.fit, summaries));
  const ggOneEvaluation = timed(REPETITIONS, () => gammaGammaTotalLogLikelihood(gg.result.fit, summaries));
  const result = {
    calibrationEnd,
    customers: summaries.length,
    summariseSeconds: round(summarised.seconds, 4),
    bgnbd: {
      ...rounded(bg.result.fit, 4),
      distinctTriples: bg.result.distinct,
      iterations: bg.result.iterations,
      evaluations: bg.result.evaluations,
      restarts: bg.result.restarts,
      converged: bg.result.converged,
      seconds: round(bg.seconds, 4),
      ratioToSummarise: round(bg.seconds / summarised.seconds, 2),
      ratioToUngroupedFit: round(bg.seconds / (bgOneEvaluation.seconds * bg.result.evaluations), 3),
    },
    gammaGamma: {
      ...rounded(gg.result.fit, 4),
      distinctPairs: gg.result.distinct,
      iterations: gg.result.iterations,
      evaluations: gg.result.evaluations,
      restarts: gg.result.restarts,
      converged: gg.result.converged,
      seconds: round(gg.seconds, 4),
      ratioToSummarise: round(gg.seconds / summarised.seconds, 2),
      ratioToUngroupedFit: round(gg.seconds / (ggOneEvaluation.seconds * gg.result.evaluations), 3),
    },
  };
  const { bgnbd: b, gammaGamma: g } = result;
  console.log(
    `calibration to ${calibrationEnd}: ${result.customers.toLocaleString("en-US")} customers summarised in ${result.summariseSeconds} s\n` +
      `  BG/NBD r=${b.r} α=${b.alpha} a=${b.a} b=${b.b} LL=${b.logLikelihood}: ${b.distinctTriples} distinct (x, tx, T), ${b.iterations} iterations, ${b.evaluations} evaluations, ${b.restarts} restarts${b.converged ? "" : " (NOT converged)"}, ${b.seconds} s ` +
      `(${b.ratioToSummarise}× the summary; ${b.ratioToUngroupedFit} of the same fit ungrouped)\n` +
      `  Gamma-Gamma p=${g.p} q=${g.q} v=${g.v} LL=${g.logLikelihood} over ${g.customers} customers: ${g.distinctPairs} distinct (x, mean), ${g.iterations} iterations, ${g.evaluations} evaluations, ${g.restarts} restarts${g.converged ? "" : " (NOT converged)"}, ${g.seconds} s ` +
      `(${g.ratioToSummarise}× the summary; ${g.ratioToUngroupedFit} of the same fit ungrouped)`,
  );
  results.push({ result, bg: bg.result.fit as BgnbdParams, gg: gg.result.fit as GammaGammaParams, summaries });
}

// Per-call costs on the paper's calibration (every customer of the master log at 1997-09-30).
const { bg, gg, summaries } = results[0]!;
const year: ClvOptions = { horizonMonths: 12, monthlyDiscountRate: 0 };
const discounted: ClvOptions = { horizonMonths: 12, monthlyDiscountRate: 0.01 };
const clvs = summaries.map((summary) => predictedClv(bg, gg, summary, UNIT, year)).sort((left, right) => left - right);
const cut = clvs[Math.floor(clvs.length / 2)]!;
const crossingSample = summaries.slice(0, 2000);
const calls = {
  pAlive: perCall(summaries, 1_000_000, ({ x, tx, T }) => bgnbdPAlive(bg, x, tx, T)),
  expectedPurchases90Days: perCall(summaries, 200_000, ({ x, tx, T }) => bgnbdExpectedPurchases(bg, PURCHASE_HORIZON_WEEKS, x, tx, T)),
  clv12MonthsUndiscounted: perCall(summaries, 200_000, (summary) => predictedClv(bg, gg, summary, UNIT, year)),
  clv12MonthsDiscounted1Percent: perCall(summaries, 50_000, (summary) => predictedClv(bg, gg, summary, UNIT, discounted)),
  clv120MonthsDiscounted1Percent: perCall(crossingSample, 4_000, (summary) => predictedClv(bg, gg, summary, UNIT, { horizonMonths: 120, monthlyDiscountRate: 0.01 })),
  clvFallsBelowMedianUndiscounted: perCall(crossingSample, 2_000, (summary) => clvFallsBelowT(bg, gg, summary, UNIT, year, cut, summary.T) ?? 0),
  clvFallsBelowMedianDiscounted: perCall(crossingSample, 2_000, (summary) => clvFallsBelowT(bg, gg, summary, UNIT, discounted, cut, summary.T) ?? 0),
};
console.log(
  `per call (µs, ${UNIT}s, the 1997-09-30 fit; crossing at the median 12-month CLV ${round(cut, 2)}): ` +
    Object.entries(calls)
      .map(([name, { microseconds }]) => `${name} ${round(microseconds, 3)}`)
      .join(", "),
);
console.log(
  JSON.stringify({
    benchmark: "model-fit",
    at: new Date().toISOString(),
    machine: machine(),
    repetitions: REPETITIONS,
    fits: results.map(({ result }) => result),
    microsecondsPerCall: Object.fromEntries(Object.entries(calls).map(([name, { microseconds, calls: count }]) => [name, { microseconds: round(microseconds, 3), calls: count }])),
  }),
);
