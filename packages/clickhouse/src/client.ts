import { once } from "node:events";
import { Readable } from "node:stream";
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import type { Config } from "@clm/config";

/**
 * What a client of a sharded database (CLICKHOUSE_CLUSTER set) sets on every query, and all it sets.
 * `insert_distributed_sync`: an insert into a Distributed table returns only once every shard holds
 * its rows, and fails when a shard does not answer, so a writer (the sink, a model publish) retries
 * the whole insert and commits nothing before — the default (queued on the receiving server, sent
 * later) would acknowledge rows that a dead server may still be holding. Reads need no setting: the
 * views are written so that they are correct across shards as they are (docs/sink.md, "Sharded
 * ClickHouse"); the analysts' read-only user (readonly = 1) could change none anyway.
 */
export const CLUSTER_CLIENT_SETTINGS = { insert_distributed_sync: 1 } as const;

/** The connection settings a client is made from; CLICKHOUSE_CLUSTER, when given and not empty, adds CLUSTER_CLIENT_SETTINGS. */
export type ClickHouseConnection = Pick<Config, "CLICKHOUSE_URL" | "CLICKHOUSE_USER" | "CLICKHOUSE_PASSWORD"> & Partial<Pick<Config, "CLICKHOUSE_CLUSTER">>;

/**
 * One ClickHouse HTTP client for the sink, migrations, the CLI and the demo scripts. No server-side query
 * parameters (ClickHouse 18.16 rejects them): callers quote values with `quoteString`.
 */
export function createClickHouse(config: ClickHouseConnection, options: { requestTimeoutMs?: number } = {}): ClickHouseClient {
  return createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    request_timeout: options.requestTimeoutMs ?? 60_000,
    compression: { request: false, response: false },
    // ClickHouse before 23.11 closes idle keep-alive sockets after 3 s. The client's idle timer (2.5 s by
    // default) fires late when the event loop is busy, and a request on a socket the server just closed
    // failed with "socket hang up" (seen once in CI): stale sockets are checked before each reuse.
    keep_alive: { idle_socket_ttl: 1500, eagerly_destroy_stale_sockets: true },
    application: "clm",
    // Errors are thrown to the caller, who logs them once with context.
    log: { level: ClickHouseLogLevel.OFF },
    ...(config.CLICKHOUSE_CLUSTER ? { clickhouse_settings: { ...CLUSTER_CLIENT_SETTINGS } } : {}),
  });
}

/** One client per shard of a sharded database (CLICKHOUSE_SHARD_URLS), for what runs on every shard: the migrations. */
export function createShardClients(
  config: ClickHouseConnection & Pick<Config, "CLICKHOUSE_SHARD_URLS">,
  options: { requestTimeoutMs?: number } = {},
): ClickHouseClient[] {
  return config.CLICKHOUSE_SHARD_URLS.map((url) => createClickHouse({ ...config, CLICKHOUSE_URL: url }, options));
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

/**
 * Inserts serialized JSONEachRow lines as one request body. The lines are already text (the sink
 * serializes each row once, when it decodes it), so the client's per-row encoding is skipped.
 */
export async function insertLines(client: ClickHouseClient, table: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const body = Readable.from([Buffer.from(lines.join("\n"), "utf8")], { objectMode: false });
  const result = await client.exec({ query: `INSERT INTO ${table} FORMAT JSONEachRow`, values: body });
  // The answer to an INSERT is empty; reading it to the end frees the connection for the next request.
  result.stream.resume();
  if (!result.stream.readableEnded) await once(result.stream, "end");
}
