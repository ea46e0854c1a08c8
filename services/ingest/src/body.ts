import type { IncomingMessage } from "node:http";
import { pipeline } from "node:stream/promises";
import { MIMEType } from "node:util";
import { createGunzip } from "node:zlib";
import { IngestError } from "./errors.ts";

export type ContentCoding = "identity" | "gzip";

/** The body's Content-Encoding: none or `identity` (plain), or `gzip`; any other coding is a 415. */
export function contentCoding(header: string | undefined): ContentCoding {
  const codings = (header ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length === 0) return "identity";
  if (codings.length === 1 && (codings[0] === "gzip" || codings[0] === "x-gzip")) return "gzip";
  throw new IngestError("UNSUPPORTED_CONTENT_ENCODING", `got ${JSON.stringify(header)}`);
}

/**
 * Reads a request body, gunzipped when its Content-Encoding says gzip, up to `limit` bytes
 * both as sent and as decompressed (a few kilobytes of gzip can hold gigabytes); past either
 * it stops reading and answers 413. The request itself is left open (`destroyOnReturn: false`),
 * so the error can still be answered on its connection.
 */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const coding = contentCoding(request.headers["content-encoding"]);
  const declared = Number(request.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new IngestError("BODY_TOO_LARGE", `${declared} > ${limit} bytes`);
  const sent = upTo(request.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>, limit, "");
  const chunks: Buffer[] = [];
  if (coding === "identity") {
    for await (const chunk of sent) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
  try {
    await pipeline(sent, createGunzip(), async (decompressed: AsyncIterable<Buffer>) => {
      for await (const chunk of upTo(decompressed, limit, " decompressed")) chunks.push(chunk);
    });
  } catch (error) {
    // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR …): the bytes are not (whole) gzip data.
    if (/^Z_/.test(String((error as NodeJS.ErrnoException).code))) throw new IngestError("INVALID_COMPRESSION", (error as Error).message);
    throw error;
  }
  return Buffer.concat(chunks);
}

async function* upTo(source: AsyncIterable<Buffer>, limit: number, what: string): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) throw new IngestError("BODY_TOO_LARGE", `more than ${limit} bytes${what}`);
    yield chunk;
  }
}

export type BodyFormat = "json" | "ndjson";

const FORMATS = new Map<string, BodyFormat>([
  ["application/json", "json"],
  ["application/x-ndjson", "ndjson"],
  ["application/ndjson", "ndjson"],
]);

/**
 * The format a Content-Type names; its charset, when given, must be UTF-8. Parsed with Node's
 * WHATWG MIME parser (quoted parameters, case); a charset label counts as UTF-8 when the
 * WHATWG Encoding Standard maps it there (`utf-8`, `utf8`, `unicode-1-1-utf-8`).
 */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  if (contentType === undefined || contentType.trim() === "") throw new IngestError("UNSUPPORTED_MEDIA_TYPE", "no Content-Type");
  let type: MIMEType;
  try {
    type = new MIMEType(contentType);
  } catch {
    throw new IngestError("UNSUPPORTED_MEDIA_TYPE", `got ${JSON.stringify(contentType)}`);
  }
  const format = FORMATS.get(type.essence);
  if (format === undefined) throw new IngestError("UNSUPPORTED_MEDIA_TYPE", `got ${type.essence}`);
  const charset = type.params.get("charset");
  if (charset !== null && !isUtf8Label(charset)) throw new IngestError("UNSUPPORTED_CHARSET", `got charset=${charset}`);
  return format;
}

function isUtf8Label(label: string): boolean {
  try {
    return new TextDecoder(label).encoding === "utf-8";
  } catch {
    return false;
  }
}

/** Refuses bytes that are not UTF-8 instead of replacing them with U+FFFD, which would merge distinct ids. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The items of a batch: a JSON array, or NDJSON lines. A body that is not JSON at
 * all is a 400; in NDJSON a single bad line is only that item's error, so the
 * other lines still go through.
 */
export function parseItems(body: Buffer, format: BodyFormat): { items: unknown[]; lineErrors: Map<number, string> } {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new IngestError("INVALID_UTF8", "it holds byte sequences that are not UTF-8");
  }
  const lineErrors = new Map<number, string>();
  if (format === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new IngestError("INVALID_BODY", (error as Error).message);
    }
    if (!Array.isArray(parsed)) throw new IngestError("INVALID_BODY", "expected a JSON array of events");
    return { items: parsed, lineErrors };
  }
  const items: unknown[] = [];
  const lines = text.split("\n");
  for (const line of lines) {
    if (line.trim() === "") continue;
    try {
      items.push(JSON.parse(line));
    } catch (error) {
      lineErrors.set(items.length, `line is not JSON: ${(error as Error).message}`);
      items.push(undefined);
    }
  }
  if (items.length > 0 && lineErrors.size === items.length) throw new IngestError("INVALID_BODY", "no line is JSON");
  return { items, lineErrors };
}
