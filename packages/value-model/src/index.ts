// The customer-value fit workflow (docs/value.md): summaries computed in ClickHouse, the MLE of
// BG/NBD and Gamma-Gamma in TypeScript (@clm/core), tier cuts from the fit population, a content
// version; then publishing — ClickHouse rows, Redis (versions hash, current), and one activation
// record per partition of the input topic. Used by `clm model` and services/modeler.
export { calibrationEndAt, pipelineClock } from "./clock.ts";
export { evaluateFit, evaluateFromClickHouse, type HoldoutEvaluation, type PredictorScore } from "./evaluate.ts";
export { daysBetween, fitFromClickHouse, fitValueModel, ValueFitError, type FitOptions, type ValueFit } from "./fit.ts";
export { publishValueModel, type PublishReport, type PublishTargets } from "./publish.ts";
export { quantile } from "./quantile.ts";
export { canonicalJson, modelVersion } from "./version.ts";
