export { createIngestServer, type IngestServerDeps } from "./server.ts";
export { EventPublisher } from "./publisher.ts";
export { CustomerReader } from "./customer-api.ts";
export { createApiKeyCheck, DEVELOPMENT_API_KEY, type ApiKeysByScope, type Scope } from "./auth.ts";
export { createIngestMetrics } from "./metrics.ts";
export { INGEST_ERRORS, IngestError } from "./errors.ts";
export { AudienceApi, fieldProblems, type AudienceAnswer, type AudienceApiDeps } from "./audience-api.ts";
