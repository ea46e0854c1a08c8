// Writes to the processor's Redis state that are not the processor's commit: storing the
// population RFM boundaries, publishing a fitted customer-value model, wiping a whole prefix (rebuilds, demo resets, tests),
// and copying a prefix to a larger partition count (docs/scaling.md).
// A separate entry point, so a reader (ingest's customer API) cannot reach them by accident.
export { RfmBoundaryStore } from "./rfm-boundaries.ts";
export { wipePartitions, wipePrefix } from "./wipe-prefix.ts";
export { storeValueModel } from "./value-model.ts";
export { growPartitions, GrowthRefusedError, type GrowthOptions, type GrowthReport } from "./growth.ts";
export { grownMeta, grownMetaFields, growthProblems, pendingActivation, type GrownMeta, type SourcePartition } from "./growth-plan.ts";
