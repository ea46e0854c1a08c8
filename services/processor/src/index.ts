export { Processor, type ProcessorOptions } from "./processor.ts";
export { rebuild, type RebuildReport } from "./rebuild.ts";
export { StateStore, unpackOutboxEntry } from "./state-store.ts";
export { createProcessorMetrics } from "./metrics.ts";
export { warmUp, warmUpClients, type WarmUpSamples } from "./warm-up.ts";
