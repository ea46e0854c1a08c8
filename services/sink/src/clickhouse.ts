import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import type { Config } from "@clm/config";

/**
 * One ClickHouse HTTP client for the sink, migrations and the CLI. No server-side query
 * parameters (ClickHouse 18.16 rejects them): callers quote values with `quoteString`.
 */
export function createClickHouse(
  config: Pick<Config, "CLICKHOUSE_URL" | "CLICKHOUSE_USER" | "CLICKHOUSE_PASSWORD">,
  options: { requestTimeoutMs?: number; stringifyRow?: (row: never) => string } = {},
): ClickHouseClient {
  return createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    request_timeout: options.requestTimeoutMs ?? 60_000,
    compression: { request: false, response: false },
    application: "clm",
    // Errors are thrown to the caller, who logs them once with context.
    log: { level: ClickHouseLogLevel.OFF },
    ...(options.stringifyRow ? { json: { parse: JSON.parse, stringify: options.stringifyRow as (value: unknown) => string } } : {}),
  });
}

/** A ClickHouse string literal: backslash and quote escaped. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Runs a SELECT and returns its rows (JSONEachRow). 64-bit integers arrive as strings on purpose. */
export async function queryRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: "JSONEachRow" });
  return result.json<T>();
}
