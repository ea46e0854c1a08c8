export { Processor, type ProcessorOptions } from "./processor.ts";
export { rebuild, wipePrefix, type RebuildReport } from "./rebuild.ts";
export { RedisLayout } from "./redis-layout.ts";
export { StateStore, unpackOutboxEntry } from "./state-store.ts";
export { createProcessorMetrics } from "./metrics.ts";
export { RfmBoundaryStore } from "./rfm-boundaries.ts";
export { warmUp, warmUpClients, type WarmUpSamples } from "./warm-up.ts";
