import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { avroTypeOptions, CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import avro from "avsc";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AvroDecodeError, AvroSerde, createRegistry, RegistryUnavailableError } from "./avro-serde.ts";

/**
 * How AvroSerde.prepare tells "no such schema" (bad input: dead letter) from "the registry did not
 * answer" (retry, never a dead letter), with the real client (@kafkajs/confluent-schema-registry)
 * talking HTTP to a local server that answers as each case needs.
 */

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
let handler: Handler;
let server: Server;
let url: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  requests.length = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const json = (status: number, body: unknown, contentType = "application/vnd.schemaregistry.v1+json"): Handler => (_request, response) => {
  response.writeHead(status, { "content-type": contentType });
  response.end(JSON.stringify(body));
};

/** The subject's next version: one more optional field with a default (a BACKWARD-compatible change). */
const writerSchema = (() => {
  const schema = JSON.parse(CUSTOMER_EVENT_SCHEMA_TEXT) as { fields: unknown[] };
  schema.fields.push({ name: "channelHint", type: ["null", "string"], default: null });
  return schema;
})();
const writerType = avro.Type.forSchema(writerSchema as avro.Schema, avroTypeOptions());
const record: CustomerEventRecord = {
  eventId: "e-1",
  customerId: "c-1",
  occurredAt: Date.UTC(1997, 0, 1),
  receivedAt: null,
  properties: { "clm.v1.Purchase": { orderId: "o-1", amount: 123_456, currency: "USD", quantity: 2 } },
};
const framed = (id: number, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, body]);
};
const written = (id: number) => framed(id, writerType.toBuffer({ ...record, channelHint: "web" }));
// One client try after the first: the unit test does not wait out the client's backoff of five.
const serdeFor = (registryUrl = url) => new AvroSerde<CustomerEventRecord>(createRegistry(registryUrl, { retries: 1, requestTimeoutMs: 300 }), "clm.events.v1-value", CUSTOMER_EVENT_SCHEMA_TEXT);

async function prepareError(serde: AvroSerde<CustomerEventRecord>, value: Buffer): Promise<unknown> {
  return serde.prepare([value]).then(
    () => null,
    (error: unknown) => error,
  );
}

function decodeCode(serde: AvroSerde<CustomerEventRecord>, value: Buffer): string | null {
  try {
    serde.decode(value);
    return null;
  } catch (error) {
    return error instanceof AvroDecodeError ? error.code : `not an AvroDecodeError: ${String(error)}`;
  }
}

describe("AvroSerde.prepare against a registry", () => {
  it("decodes a record of a newer compatible writer schema the registry serves", async () => {
    handler = json(200, { schema: JSON.stringify(writerSchema) });
    const serde = serdeFor();
    await serde.prepare([written(7)]);
    expect(serde.decode(written(7))).toEqual(record);
    // Asked once per id.
    await serde.prepare([written(7), written(7)]);
    expect(requests).toEqual(["GET /schemas/ids/7"]);
  });

  it("takes a 404 with error code 40403 as 'no such schema': prepare resolves, the record is UNKNOWN_SCHEMA", async () => {
    handler = json(404, { error_code: 40403, message: "Schema 8 not found" });
    const serde = serdeFor();
    await serde.prepare([written(8)]);
    expect(decodeCode(serde, written(8))).toBe("UNKNOWN_SCHEMA");
    // Not retried by the client: a definite answer.
    expect(requests).toEqual(["GET /schemas/ids/8"]);
  });

  it("takes the 40403 of a registry client shared by two serdes asking at once as 'no such schema' for both", async () => {
    handler = json(404, { error_code: 40403, message: "Schema 15 not found" });
    const registry = createRegistry(url, { retries: 1, requestTimeoutMs: 300 });
    const serdes = [0, 1].map(() => new AvroSerde<CustomerEventRecord>(registry, "clm.events.v1-value", CUSTOMER_EVENT_SCHEMA_TEXT));
    await Promise.all(serdes.map((serde) => serde.prepare([written(15)])));
    for (const serde of serdes) expect(decodeCode(serde, written(15))).toBe("UNKNOWN_SCHEMA");
    // The client asked once for both.
    expect(requests).toEqual(["GET /schemas/ids/15"]);
    // A later answer for the same id that is not 40403 is no longer "no such schema".
    handler = (_request, response) => {
      response.writeHead(404);
      response.end();
    };
    expect(await prepareError(serdes[0]!, written(15))).toMatchObject({ name: "RegistryUnavailableError", status: 404 });
  });

  it("throws RegistryUnavailableError on a 5xx, marks nothing, and reads the schema once the registry answers", async () => {
    handler = json(500, { error_code: 50001, message: "Error in the backend data store" });
    const serde = serdeFor();
    const error = await prepareError(serde, written(9));
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).toMatchObject({ schemaId: 9, status: 500, retryable: true });
    // The client retried the 5xx (1 retry here) before giving up.
    expect(requests).toEqual(["GET /schemas/ids/9", "GET /schemas/ids/9"]);
    // Nothing was marked unknown: a decode now is not UNKNOWN_SCHEMA-for-good, and the next prepare asks again.
    handler = json(200, { schema: JSON.stringify(writerSchema) });
    await serde.prepare([written(9)]);
    expect(serde.decode(written(9))).toEqual(record);
  });

  it("throws RegistryUnavailableError on a 503 from a proxy and on a 404 that is not the registry's 'schema not found'", async () => {
    handler = (_request, response) => {
      response.writeHead(503, { "content-type": "text/html" });
      response.end("<html>upstream unavailable</html>");
    };
    expect(await prepareError(serdeFor(), written(10))).toMatchObject({ name: "RegistryUnavailableError", status: 503 });
    // A wrong base URL or a proxy without the route: 404, but no Confluent error code 40403.
    handler = (_request, response) => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end();
    };
    expect(await prepareError(serdeFor(), written(10))).toMatchObject({ name: "RegistryUnavailableError", status: 404 });
    handler = json(404, { error_code: 40401, message: "Subject not found" });
    expect(await prepareError(serdeFor(), written(10))).toMatchObject({ name: "RegistryUnavailableError", status: 404 });
  });

  it("throws RegistryUnavailableError when the registry closes the connection without answering", async () => {
    handler = (request) => request.socket.destroy();
    const error = await prepareError(serdeFor(), written(11));
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(((error as Error).cause as Error).message).toMatch(/socket hang up|ECONNRESET/);
  });

  it("throws RegistryUnavailableError when nothing listens (connection refused)", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await prepareError(serdeFor(`http://127.0.0.1:${port}`), written(12));
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(((error as Error).cause as Error).message).toContain("ECONNREFUSED");
  });

  it("throws RegistryUnavailableError when the registry accepts the request and never answers (timeout)", async () => {
    handler = () => undefined; // holds the request
    const started = performance.now();
    const error = await prepareError(serdeFor(), written(13));
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(((error as Error).cause as Error).message).toContain("Timeout");
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("takes a schema the registry has but this reader cannot resolve as bad input: INCOMPATIBLE_SCHEMA, asked once", async () => {
    handler = json(200, { schema: JSON.stringify({ type: "record", name: "Other", namespace: "elsewhere", fields: [{ name: "x", type: "int" }] }) });
    const serde = serdeFor();
    const value = framed(14, Buffer.from([2]));
    await serde.prepare([value]);
    expect(decodeCode(serde, value)).toBe("INCOMPATIBLE_SCHEMA");
    await serde.prepare([value]);
    expect(requests).toEqual(["GET /schemas/ids/14"]);
  });

  it("asks nothing for values that are not Confluent-framed", async () => {
    handler = json(500, {});
    const serde = serdeFor();
    await serde.prepare([null, Buffer.from("{}"), Buffer.from([0, 1])]);
    expect(requests).toEqual([]);
    expect(decodeCode(serde, Buffer.from("{}"))).toBe("NOT_CONFLUENT_AVRO");
  });
});
