// The customer-value model: BG/NBD and Gamma-Gamma, their fits, CLV and a hold-out check. Pure math.
export * from "./types.ts";
export { betaln, gammaln, hyp2f1, logHyp2f1 } from "./special.ts";
export {
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdPAlive,
  bgnbdTotalLogLikelihood,
  bgnbdUnconditionalExpectedPurchases,
  pAliveCrossingT,
} from "./bgnbd.ts";
export { gammaGammaExpectedSpend, gammaGammaLogLikelihood, gammaGammaTotalLogLikelihood } from "./gamma-gamma.ts";
export { fitBgnbd, fitBgnbdReport, fitGammaGamma, fitGammaGammaReport, type FitReport } from "./fit.ts";
export { clvFallsBelowT, DAYS_PER_MONTH, predictedClv, predictValue, type ValueModelParams } from "./clv.ts";
export { holdoutActuals, summarizeTransactions, valueUnitDays, type HoldoutActual, type ValueTransaction } from "./summaries.ts";
export { evaluateHoldout, type HoldoutEvaluation, type HoldoutTotals } from "./evaluate.ts";
export { valueTierOf } from "./tier.ts";
