export { createWebhooksServer, type ApiDeps } from "./api.ts";
export { SignalConsumer, type SignalConsumerOptions } from "./consumer.ts";
export { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
export { WEBHOOKS_API_ERRORS, WebhooksApiError } from "./errors.ts";
export { createWebhooksMetrics, type WebhooksMetrics } from "./metrics.ts";
export { backoffDelay, nextAttemptAt, retryAfterAt, verdictOf, type AttemptResult, type RetrySchedule, type Verdict } from "./retry-policy.ts";
export { createSender, type Send, type WebhookRequest } from "./sender.ts";
export { batchWebhookId, DestinationWorker } from "./worker.ts";
