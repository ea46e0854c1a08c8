export { Sink, type SinkOptions } from "./sink.ts";
export { createSinkMetrics, type SinkMetrics } from "./metrics.ts";
