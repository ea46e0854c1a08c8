import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import { avroTypeOptions } from "@clm/contracts";

/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary),
 * with writer schemas from a Confluent-compatible registry. The registry is asked
 * once per schema id; encoding and decoding are synchronous on the hot path.
 * Records written with an older compatible schema are resolved to the reader type.
 */
export class AvroDecodeError extends Error {
  constructor(
    readonly code: "NOT_CONFLUENT_AVRO" | "UNKNOWN_SCHEMA" | "INCOMPATIBLE_SCHEMA" | "AVRO_INVALID",
    message: string,
  ) {
    super(message);
    this.name = "AvroDecodeError";
  }
}

/**
 * The registry gave no answer on a writer schema: it is down, refused or reset the connection,
 * timed out, or answered anything but the schema or a definite "no such schema" (5xx, 401, …).
 * Says nothing about the records: the batch is to be retried once the registry answers, never
 * dead-lettered. `cause` is the client's error.
 */
export class RegistryUnavailableError extends Error {
  readonly retryable = true;
  constructor(
    readonly schemaId: number,
    /** The HTTP status the client reported; @kafkajs/confluent-schema-registry reports 400 for a network error. */
    readonly status: number | null,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = "RegistryUnavailableError";
  }
}

/** What prepare() keeps for a schema id that exists but cannot be read into the reader type. */
class IncompatibleSchema {
  constructor(readonly reason: string) {}
}

/** How long one registry request may go without an answer (mappersmith's socket idle timeout). */
export const REGISTRY_REQUEST_TIMEOUT_MS = 5000;

type RegistryArgs = ConstructorParameters<typeof SchemaRegistry>[0];
type RegistryMiddleware = NonNullable<RegistryArgs["middlewares"]>[number];
type RegistryResponse = Parameters<NonNullable<NonNullable<RegistryArgs["retry"]>["validateRetry"]>>[0];

export interface RegistryClientOptions {
  /** Tries after a network error or a 5xx, backing off from 100 ms (the client's own retry); at least 1. Default 5 (~3 s in all). */
  retries?: number;
  /** For lookups (GET); default REGISTRY_REQUEST_TIMEOUT_MS: a registry that accepts the connection and never answers fails instead of hanging. */
  requestTimeoutMs?: number;
}

/**
 * "get <url>" of the requests whose latest answer was a 404 with Confluent's error_code 40403
 * (schema not found). The client's errors keep only the status and that "get <url>", not the
 * body, so the code is read here, where the client's retry middleware is shown each raw response
 * (every try but a last one after all retries). Any other answer to the URL removes it. One set
 * for every client: the client merges each client's retry options into one shared default object
 * (`Object.assign(DEFAULT_RETRY, retry)`), so a request may run with another client's options;
 * every client gets this same function, which makes that harmless. Emptied past 10,000 entries (a
 * stream of made-up ids): an id missing from it is asked again, never wrongly taken as unknown.
 */
const schemaNotFoundAnswers = new Set<string>();

function validateRetry(response: RegistryResponse): boolean {
  const status = response.status();
  const request = `${response.request().method()} ${response.request().url()}`;
  const body = status === 404 ? response.data<unknown>() : null;
  if (typeof body === "object" && body !== null && (body as { error_code?: unknown }).error_code === 40403) {
    if (schemaNotFoundAnswers.size >= 10_000) schemaNotFoundAnswers.clear();
    schemaNotFoundAnswers.add(request);
  } else {
    schemaNotFoundAnswers.delete(request);
  }
  // The client's own rule: retry 5xx (network errors are retried besides this).
  return status >= 500;
}

export function createRegistry(url: string, options: RegistryClientOptions = {}): SchemaRegistry {
  const timeout = options.requestTimeoutMs ?? REGISTRY_REQUEST_TIMEOUT_MS;
  // The client sets no timeout: a lookup at a stopped (SIGSTOP) or wedged registry waited for ever,
  // holding its batch. Lookups only: a registration (at start) may take its time.
  const requestTimeout: RegistryMiddleware = () => ({
    prepareRequest: (next) => next().then((request) => (request.method() === "get" ? request.enhance({ timeout }) : request)),
  });
  return new SchemaRegistry(
    // validateRetry runs only while tries are left: with 0 retries no 404 would ever count as definite.
    { host: url, retry: { retries: Math.max(1, options.retries ?? 5), validateRetry }, middlewares: [requestTimeout] },
    { [SchemaType.AVRO]: avroTypeOptions() },
  );
}

/**
 * Whether the registry answered that this schema id does not exist: a 404 whose body carries
 * Confluent's error_code 40403 (Apicurio's ccompat API answers the same). The client
 * (@kafkajs/confluent-schema-registry 4.x, its errorMiddleware) rejects every failed request with
 * a `ResponseError` that has `status` and `url`; it reports a network failure (refused, reset,
 * timeout) as status 400, after its own retries. A 404 without 40403 — a wrong base URL, a proxy
 * without the route — is no answer about the schema.
 */
function isSchemaNotFound(error: unknown): boolean {
  const { name, status, url } = error as { name?: unknown; status?: unknown; url?: unknown };
  return name === "ResponseError" && status === 404 && typeof url === "string" && schemaNotFoundAnswers.has(url);
}

function statusOf(error: unknown): number | null {
  const { status } = error as { status?: unknown };
  return typeof status === "number" ? status : null;
}

export class AvroSerde<T> {
  private writerId: number | null = null;
  private readonly resolvers = new Map<number, unknown>();
  private readonly readerType: avro.Type;
  /** Where encode writes before copying out: grows to the largest value seen. */
  private scratch = Buffer.allocUnsafe(4096);

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly subject: string,
    private readonly schemaText: string,
  ) {
    this.readerType = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema, avroTypeOptions());
  }

  /** Registers the schema under the subject (idempotent) and keeps its id for encoding. */
  async register(): Promise<number> {
    let id: number;
    for (let attempt = 1; ; attempt++) {
      try {
        ({ id } = await this.registry.register({ type: SchemaType.AVRO, schema: this.schemaText }, { subject: this.subject }));
        break;
      } catch (error) {
        if (!registeringConcurrently(error) || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    this.writerId = id;
    this.resolvers.set(id, this.readerType);
    return id;
  }

  get schemaId(): number {
    if (this.writerId === null) throw new Error(`schema for ${this.subject} is not registered yet`);
    return this.writerId;
  }

  encode(value: T): Buffer {
    // Written after the header into a reused buffer, then copied out once (avsc's toBuffer
    // allocates a zero-filled body that was then copied again behind the header).
    let end = this.readerType.encode(value, this.scratch, 5);
    if (end < 0) {
      // avsc returns minus the bytes it was short of.
      this.scratch = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, this.scratch.length - end));
      end = this.readerType.encode(value, this.scratch, 5);
    }
    this.scratch[0] = 0;
    this.scratch.writeUInt32BE(this.schemaId, 1);
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    return out;
  }

  /**
   * Fetches the writer schemas of these messages that are not known yet (one request per new id).
   * An id the registry says does not exist (404) stays unknown: decode() reports UNKNOWN_SCHEMA, a
   * dead letter. Any other failure to get an answer throws RegistryUnavailableError and marks
   * nothing: the caller keeps the batch and calls again later (see prepareWhileRegistryAway).
   */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const unknown = new Set<number>();
    for (const value of values) {
      if (value && value.length >= 5 && value[0] === 0) {
        const id = value.readUInt32BE(1);
        if (!this.resolvers.has(id)) unknown.add(id);
      }
    }
    for (const id of unknown) {
      let writer: unknown;
      try {
        writer = await this.registry.getSchema(id);
      } catch (error) {
        // Left unknown: decode() reports UNKNOWN_SCHEMA for these records, which go to the dead-letter topic.
        if (isSchemaNotFound(error)) continue;
        const status = statusOf(error);
        // The client's message (refused, reset, timeout, the 5xx body) is in `cause` (pino logs it too).
        throw new RegistryUnavailableError(id, status, `the schema registry gave no answer on schema id ${id} for ${this.subject}${status === null ? "" : ` (status ${status})`}`, {
          cause: error,
        });
      }
      this.resolvers.set(id, this.resolverFor(id, writer));
    }
  }

  /**
   * The reader type itself, avsc's resolver from this writer, or — when the registry holds the id
   * but it cannot be read as this subject's records (not Avro, or not schema-compatible, e.g. the
   * id of another subject) — an IncompatibleSchema: a property of the record, not of the registry.
   */
  private resolverFor(id: number, writer: unknown): unknown {
    try {
      const type = writer as avro.Type;
      return type.equals(this.readerType) ? this.readerType : this.readerType.createResolver(type);
    } catch (error) {
      return new IncompatibleSchema(`schema id ${id} cannot be read as ${this.subject}: ${(error as Error).message}`);
    }
  }

  /** Decodes one message whose writer schema is prepared; throws AvroDecodeError with the reason. */
  decode(value: Buffer | null): T {
    if (!value || value.length < 5 || value[0] !== 0) {
      throw new AvroDecodeError("NOT_CONFLUENT_AVRO", "value is not Confluent-framed Avro (magic byte 0 + schema id)");
    }
    const id = value.readUInt32BE(1);
    const resolver = this.resolvers.get(id);
    if (resolver === undefined) throw new AvroDecodeError("UNKNOWN_SCHEMA", `schema id ${id} is unknown to the registry`);
    if (resolver instanceof IncompatibleSchema) throw new AvroDecodeError("INCOMPATIBLE_SCHEMA", resolver.reason);
    try {
      const body = value.subarray(5);
      if (resolver === this.readerType) return this.readerType.fromBuffer(body) as T;
      return this.readerType.fromBuffer(body, resolver as never) as T;
    } catch (error) {
      throw new AvroDecodeError("AVRO_INVALID", `Avro body does not decode with schema ${id}: ${(error as Error).message}`);
    }
  }
}

/**
 * Whether `error` is what a registry answers when services register a new subject at once; asked
 * again a moment later, it agrees. The client sets BACKWARD right after a subject's first
 * registration: a registry can report NONE in between, and Apicurio refuses every setting after
 * the first with 409 ("A rule named 'COMPATIBILITY' already exists"), which stopped the second of
 * two processors started together.
 */
function registeringConcurrently(error: unknown): boolean {
  if ((error as Error).name === "ConfluentSchemaRegistryCompatibilityError") return true;
  const { status, url } = error as { status?: unknown; url?: unknown };
  return status === 409 && typeof url === "string" && url.includes("/config/");
}
