import { z } from "zod";

/**
 * The one configuration schema of the pipeline. Every setting is an environment
 * variable; defaults point at the local stack (infra/stack.sh). Services call
 * `loadConfig(process.env)` once in main; the result is frozen.
 */

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, "expected host:port");

const brokerList = z
  .string()
  .min(1, "must not be empty")
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean))
  .pipe(z.array(hostPort).min(1, "needs at least one host:port"));

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const redisUrl = z.url({ protocol: /^rediss?$/, error: "expected a redis:// or rediss:// URL" });
/** One Redis URL, or a comma-separated list (the seed nodes of a Redis Cluster). */
const redisUrlList = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean))
  .pipe(z.array(redisUrl).min(1, "needs at least one redis:// URL"));

const port = z.coerce.number().int("must be an integer").min(0).max(65535);
const positiveInt = (max: number) => z.coerce.number().int("must be an integer").min(1).max(max);
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "expected a Kafka topic name ([A-Za-z0-9._-], 1..249)");

const commaList = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));

export const configSchema = z
  .object({
    KAFKA_BROKERS: brokerList.default(["127.0.0.1:19092"]),
    KAFKA_CLIENT_ID: z.string().min(1).default("clm"),
    /** Replicas of each partition of the topics the project creates (3 on a 3-broker cluster). */
    KAFKA_REPLICATION_FACTOR: positiveInt(32).default(1),
    /** min.insync.replicas of the topics the project creates: an acks=all write is on this many replicas before it counts. */
    KAFKA_MIN_INSYNC_REPLICAS: positiveInt(32).default(1),
    SCHEMA_REGISTRY_URL: httpUrl.default("http://127.0.0.1:18081/apis/ccompat/v7"),
    /** One URL, or with REDIS_CLUSTER=true a comma-separated list of cluster nodes to start from. */
    REDIS_URL: redisUrlList.default(["redis://127.0.0.1:16379"]),
    /** true: REDIS_URL names nodes of a Redis Cluster, reached with ioredis's Cluster client (@clm/redis). */
    REDIS_CLUSTER: z.stringbool({ error: "expected true or false" }).default(false),
    /**
     * Replicas that must acknowledge a write before anything downstream may see its effects (WAIT;
     * docs/reliability.md). 0: no wait (a single node, or replication loss accepted).
     */
    REDIS_WAIT_REPLICAS: z.coerce.number().int("must be an integer").min(0).max(16).default(0),
    /** How long one WAIT waits for REDIS_WAIT_REPLICAS; fewer acknowledgements by then are a retried failure. */
    REDIS_WAIT_TIMEOUT_MS: positiveInt(60_000).default(2000),
    CLICKHOUSE_URL: httpUrl.default("http://127.0.0.1:18123"),
    CLICKHOUSE_USER: z.string().min(1).default("default"),
    CLICKHOUSE_PASSWORD: z.string().default(""),
    /** Password `migrate` gives the analysts' read-only user where the server has SQL user management. */
    CLICKHOUSE_ANALYST_PASSWORD: z.string().min(1).optional(),
    CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an identifier").default("clm"),
    /**
     * Empty: one ClickHouse server. Else the cluster name in the servers' remote_servers: the database
     * is sharded by customer over CLICKHOUSE_SHARD_URLS (docs/sink.md, "Sharded ClickHouse").
     */
    CLICKHOUSE_CLUSTER: z.union([z.literal(""), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an identifier")]).default(""),
    /** Every shard's HTTP URL, comma-separated (migrations run on each); only with CLICKHOUSE_CLUSTER. */
    CLICKHOUSE_SHARD_URLS: z
      .string()
      .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean))
      .pipe(z.array(httpUrl))
      .default([]),

    TOPIC_EVENTS: topicName.default("clm.events.v1"),
    TOPIC_STAGE_CHANGES: topicName.default("clm.stage-changes.v1"),
    TOPIC_VALUE_TIER_CHANGES: topicName.default("clm.value-tier-changes.v1"),
    TOPIC_RISK_CHANGES: topicName.default("clm.risk-changes.v1"),
    TOPIC_AUDIENCE_CHANGES: topicName.default("clm.audience-changes.v1"),
    TOPIC_DEAD_LETTER: topicName.default("clm.dead-letter.v1"),
    TOPIC_PARTITIONS: positiveInt(1024).default(6),

    /** `wall`: timers follow the machine clock (production). `event`: time follows each partition's event-time watermark (replays). */
    CLOCK_MODE: z.enum(["wall", "event"]).default("wall"),
    /** Overrides the lifecycle model's reportingCurrency (default USD). */
    REPORTING_CURRENCY: z.string().regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as USD").optional(),
    /** Path to a JSON file with lifecycle model overrides (see packages/core lifecycleConfigSchema). */
    LIFECYCLE_CONFIG_FILE: z.string().min(1).optional(),

    /**
     * How far an event's occurredAt may be ahead of the receiving service's clock: ingest rejects and
     * the processor dead-letters anything later, so one far-future event cannot move a partition's
     * event-time watermark. At most 30 days.
     */
    MAX_FUTURE_SKEW_MS: z.coerce.number().int("must be an integer").min(0).max(30 * 24 * 3600 * 1000).default(24 * 3600 * 1000),

    INGEST_PORT: port.default(8080),
    /** Interface the ingest server binds to (0.0.0.0 in containers). */
    INGEST_HOST: z.string().min(1).default("127.0.0.1"),
    /** Write keys (POST /v1/events); with no key variable set, only a loopback-bound ingest starts, with the development key. */
    INGEST_API_KEYS: commaList.optional(),
    /** Read keys (GET /v1/customers/…). */
    INGEST_READ_API_KEYS: commaList.optional(),
    /** Admin keys (operator actions). */
    INGEST_ADMIN_API_KEYS: commaList.optional(),
    INGEST_MAX_BATCH_EVENTS: positiveInt(100_000).default(5000),
    INGEST_MAX_BODY_BYTES: positiveInt(256 * 1024 * 1024).default(5 * 1024 * 1024),
    /** How long a request waits for Kafka's acknowledgement before answering 503. */
    INGEST_PUBLISH_TIMEOUT_MS: positiveInt(120_000).default(10_000),
    /** A client whose request headers are not complete this long after its first byte gets 408 (at most INGEST_REQUEST_TIMEOUT_MS). */
    INGEST_HEADERS_TIMEOUT_MS: positiveInt(600_000).default(10_000),
    /** A client whose whole request (body included) has not arrived this long after its first byte gets 408. */
    INGEST_REQUEST_TIMEOUT_MS: positiveInt(3_600_000).default(30_000),
    /** An idle kept-alive connection closes this long after its last response. */
    INGEST_KEEP_ALIVE_TIMEOUT_MS: positiveInt(600_000).default(5_000),
    PROCESSOR_HTTP_PORT: port.default(8081),
    /** Interface the processor's, the sink's and the modeler's /metrics and /healthz bind to (0.0.0.0 in containers, so a published port reaches them). */
    OPS_HOST: z.string().min(1).default("127.0.0.1"),
    PROCESSOR_GROUP_ID: z.string().min(1).default("clm-processor"),
    /** How long a silent processor keeps its partitions before the group hands them to another (broker minimum 6 s). */
    PROCESSOR_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000),
    /**
     * Most bytes one fetch takes from a partition, so roughly the records per batch (~75 B each): a
     * larger batch writes each customer's state once for more of its events (1 MiB: 0.24 writes per
     * event on the 1M-event bench; 4 MiB: 0.08). At low load batches are small whatever this is.
     */
    PROCESSOR_FETCH_BYTES_PER_PARTITION: positiveInt(64 * 1024 * 1024).default(4 * 1024 * 1024),
    /**
     * Most customers one commit writes (besides those an event-time sweep reaches): larger batches are
     * folded and committed in slices. A commit script runs alone in Redis, and one of ~50k customers
     * can run past Redis's 5 s busy threshold during an AOF rewrite (docs/performance.md).
     */
    PROCESSOR_MAX_CUSTOMERS_PER_WRITE: positiveInt(1_000_000).default(20_000),
    PROCESSOR_REFIT_SCAN_COUNT: positiveInt(100_000).default(1000),
    /**
     * Customers per owned partition whose packed state stays in memory between batches (~300 B
     * each), so a batch reads from Redis only the ones it has not written (valid while the
     * partition's write fence is this process's; docs/processor.md). 0 reads every batch's customers from Redis.
     */
    PROCESSOR_CACHED_CUSTOMERS_PER_PARTITION: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
    /**
     * Passes of the start-up warm-up (per-record code and the clients' paths on made-up customers,
     * ~0.5–1 s each) before the processor joins its group: three keep the first seconds' p99 down
     * beside a busy core (docs/performance.md); 0 skips it.
     */
    PROCESSOR_WARM_UP_PASSES: z.coerce.number().int().min(0).max(20).default(3),
    /** Prefix of every Redis key the processor owns; a rebuild can write beside the live state under another. */
    REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "expected 1..64 of [A-Za-z0-9_.-]").default("clm"),
    /** In `event` clock mode, deadlines fire only once the partition's watermark is this far past them. */
    EVENT_TIME_LATENESS_MS: z.coerce.number().int().min(0).max(30 * 24 * 3600 * 1000).default(0),
    /** In `wall` clock mode, how often each owned partition's due timers are fired. */
    TIMER_SWEEP_INTERVAL_MS: positiveInt(60_000).default(250),
    /** Recent stage changes kept per customer for the customer API (0 keeps none). */
    TRANSITION_HISTORY_PER_CUSTOMER: z.coerce.number().int().min(0).max(1000).default(10),
    SINK_HTTP_PORT: port.default(8082),
    SINK_GROUP_ID: z.string().min(1).default("clm-sink"),
    /** How long a sink that died keeps its partitions before the group reassigns them (broker minimum 6 s). */
    SINK_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000),
    /** The sink writes when this many rows are buffered, or when the oldest buffered row is SINK_FLUSH_INTERVAL_MS old. */
    SINK_BATCH_ROWS: positiveInt(1_000_000).default(50_000),
    SINK_FLUSH_INTERVAL_MS: positiveInt(600_000).default(1000),
    /** Longest pause between retries while ClickHouse refuses writes (backoff doubles from 200 ms up to this). */
    SINK_RETRY_MAX_MS: positiveInt(600_000).default(10_000),

    MODELER_HTTP_PORT: port.default(8083),
    /** How often the modeler refits the customer-value model and publishes it (docs/value.md); at least a minute. */
    MODEL_REFIT_INTERVAL_MS: z.coerce.number().int("must be an integer").min(60_000).max(366 * 24 * 3600 * 1000).default(24 * 3600 * 1000),
    /** Longest pause between the modeler's retries of a failed fit (backoff from 5 s, at most MODEL_REFIT_INTERVAL_MS apart). */
    MODEL_RETRY_MAX_MS: positiveInt(24 * 3600 * 1000).default(15 * 60 * 1000),
    /** The read-only console (services/console): its HTTP port and interface. It takes ingest's read keys (INGEST_READ_API_KEYS). */
    CONSOLE_PORT: port.default(8084),
    CONSOLE_HOST: z.string().min(1).default("127.0.0.1"),
    /** Base URL of the ingest service whose customer API the console's customer page reads (with the viewer's own key). */
    CONSOLE_INGEST_URL: httpUrl.default("http://127.0.0.1:8080"),
    /** The ClickHouse user the console queries as: the analysts' read-only user; its password is CLICKHOUSE_ANALYST_PASSWORD unless CONSOLE_CLICKHOUSE_PASSWORD is set. */
    CONSOLE_CLICKHOUSE_USER: z.string().min(1).default("clm_analyst"),
    CONSOLE_CLICKHOUSE_PASSWORD: z.string().optional(),
    /** How often the console checks its data version; on a change it asks every page's default queries again, so viewers read them from its cache (docs/console.md). */
    CONSOLE_WARM_INTERVAL_MS: positiveInt(600_000).default(5000),

    /** The webhook delivery service (services/webhooks): destinations API, /metrics and /healthz; admin keys are ingest's INGEST_ADMIN_API_KEYS. */
    WEBHOOKS_PORT: port.default(8085),
    WEBHOOKS_HOST: z.string().min(1).default("127.0.0.1"),
    WEBHOOKS_GROUP_ID: z.string().min(1).default("clm-webhooks"),
    /** How long a delivery service that died keeps its partitions before the group reassigns them (broker minimum 6 s). */
    WEBHOOKS_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000),
    /** Requests open at once per destination (lanes delivered in parallel); a slow destination holds only these. */
    WEBHOOKS_MAX_IN_FLIGHT: positiveInt(1000).default(64),
    /** A request without a complete answer after this long counts as a timeout (retried). */
    WEBHOOKS_REQUEST_TIMEOUT_MS: positiveInt(300_000).default(10_000),
    /** How long after its first try a message is still retried before it goes to the dead letters. */
    WEBHOOKS_RETRY_PERIOD_MS: positiveInt(30 * 24 * 3600 * 1000).default(24 * 3600 * 1000),
    /** The pause after a first failed try; doubled per try (with jitter) up to WEBHOOKS_RETRY_MAX_DELAY_MS. */
    WEBHOOKS_RETRY_INITIAL_MS: positiveInt(3_600_000).default(1000),
    WEBHOOKS_RETRY_MAX_DELAY_MS: positiveInt(24 * 3600 * 1000).default(10 * 60 * 1000),
    /** After a secret rotation, how long the previous secret keeps signing beside the new one (default overlap). */
    WEBHOOKS_SECRET_OVERLAP_MS: z.coerce.number().int().min(0).max(30 * 24 * 3600 * 1000).default(24 * 3600 * 1000),
    /** How often an idle worker looks for due lanes, and how often destinations changed elsewhere (the CLI) are reloaded. */
    WEBHOOKS_POLL_MS: positiveInt(60_000).default(1000),

    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  // Unknown variables are ignored (the environment holds many); only these are read.
  .strip()
  // Node's HTTP server refuses a headers timeout longer than its request timeout.
  .refine((config) => config.INGEST_HEADERS_TIMEOUT_MS <= config.INGEST_REQUEST_TIMEOUT_MS, {
    path: ["INGEST_HEADERS_TIMEOUT_MS"],
    error: "must be at most INGEST_REQUEST_TIMEOUT_MS",
  })
  .refine((config) => (config.CLICKHOUSE_CLUSTER === "") === (config.CLICKHOUSE_SHARD_URLS.length === 0), {
    path: ["CLICKHOUSE_SHARD_URLS"],
    error: "CLICKHOUSE_CLUSTER and CLICKHOUSE_SHARD_URLS go together: both set (sharded) or both empty (one server)",
  })
  .refine((config) => new Set(config.CLICKHOUSE_SHARD_URLS).size === config.CLICKHOUSE_SHARD_URLS.length, {
    path: ["CLICKHOUSE_SHARD_URLS"],
    error: "names a shard twice",
  })
  .refine((config) => config.REDIS_CLUSTER || config.REDIS_URL.length === 1, {
    path: ["REDIS_URL"],
    error: "lists several URLs: set REDIS_CLUSTER=true for a Redis Cluster, or give one URL",
  })
  .refine((config) => config.WEBHOOKS_RETRY_INITIAL_MS <= config.WEBHOOKS_RETRY_MAX_DELAY_MS, {
    path: ["WEBHOOKS_RETRY_INITIAL_MS"],
    error: "must be at most WEBHOOKS_RETRY_MAX_DELAY_MS",
  })
  // More in-sync replicas than replicas would refuse every acks=all write.
  .refine((config) => config.KAFKA_MIN_INSYNC_REPLICAS <= config.KAFKA_REPLICATION_FACTOR, {
    path: ["KAFKA_MIN_INSYNC_REPLICAS"],
    error: "must be at most KAFKA_REPLICATION_FACTOR",
  });

export type Config = Readonly<z.output<typeof configSchema>>;

/** Names of every variable the schema reads, for docs and `clm status`. */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as ReadonlyArray<keyof Config>;

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(
      "invalid configuration:\n" +
        problems.map((problem) => `  ${problem.variable}: ${problem.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/**
 * Parses the settings from an environment object (pass `process.env`). An empty
 * string counts as unset, so `FOO=` falls back to the default, except for
 * variables whose empty value is meaningful (CLICKHOUSE_PASSWORD).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const input: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value === undefined) continue;
    if (value === "" && name !== "CLICKHOUSE_PASSWORD" && name !== "CONSOLE_CLICKHOUSE_PASSWORD") continue;
    input[name] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? "(config)");
        const shown = variable in input && !/PASSWORD|KEYS/.test(variable) ? ` (got ${JSON.stringify(input[variable])})` : "";
        return { variable, message: issue.message + shown };
      }),
    );
  }
  return Object.freeze(parsed.data);
}
