import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Paths never written to logs: credentials travel in these fields. */
export const REDACTED_PATHS = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "apiKey",
  "apiKeys",
  "password",
  "config.CLICKHOUSE_PASSWORD",
  "config.CLICKHOUSE_ANALYST_PASSWORD",
  "config.INGEST_API_KEYS",
  "config.INGEST_READ_API_KEYS",
  "config.INGEST_ADMIN_API_KEYS",
  "CLICKHOUSE_PASSWORD",
  "CLICKHOUSE_ANALYST_PASSWORD",
  "INGEST_API_KEYS",
  "INGEST_READ_API_KEYS",
  "INGEST_ADMIN_API_KEYS",
];

/** The one logger factory: JSON lines on stdout, service name on every line, secrets redacted. */
export function createLogger(options: { service: string; level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
