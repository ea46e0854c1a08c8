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
    readonly code: "NOT_CONFLUENT_AVRO" | "UNKNOWN_SCHEMA" | "AVRO_INVALID",
    message: string,
  ) {
    super(message);
    this.name = "AvroDecodeError";
  }
}

export function createRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url, retry: { retries: 5 } }, { [SchemaType.AVRO]: avroTypeOptions() });
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

  /** Fetches the writer schemas of these messages that are not known yet (one request per new id). */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const unknown = new Set<number>();
    for (const value of values) {
      if (value && value.length >= 5 && value[0] === 0) {
        const id = value.readUInt32BE(1);
        if (!this.resolvers.has(id)) unknown.add(id);
      }
    }
    for (const id of unknown) {
      try {
        const writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
        this.resolvers.set(id, writer.equals(this.readerType) ? this.readerType : this.readerType.createResolver(writer));
      } catch {
        // Left unknown: decode() reports UNKNOWN_SCHEMA for these records, which go to the dead-letter topic.
      }
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
