// Writes to the processor's Redis state that are not the processor's commit: storing the
// population RFM boundaries, publishing a fitted customer-value model, and wiping a whole prefix (rebuilds, demo resets, tests).
// A separate entry point, so a reader (ingest's customer API) cannot reach them by accident.
export { RfmBoundaryStore } from "./rfm-boundaries.ts";
export { wipePrefix } from "./wipe-prefix.ts";
export { storeValueModel } from "./value-model.ts";
