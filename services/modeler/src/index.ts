export { Modeler, type FitOutcome, type ModelerOptions } from "./modeler.ts";
export { createModelerMetrics, type ModelerMetrics } from "./metrics.ts";
export { firstFitDelay, retryDelay } from "./schedule.ts";
