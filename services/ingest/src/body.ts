import type { IncomingMessage } from "node:http";
import { IngestError } from "./errors.ts";

/** Reads a request body up to `limit` bytes; past it, stops reading and answers 413. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new IngestError("BODY_TOO_LARGE", `${declared} > ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new IngestError("BODY_TOO_LARGE", `more than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export type BodyFormat = "json" | "ndjson";

export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return "json";
  if (type === "application/x-ndjson" || type === "application/ndjson") return "ndjson";
  throw new IngestError("UNSUPPORTED_MEDIA_TYPE", type === "" ? "no Content-Type" : `got ${type}`);
}

/**
 * The items of a batch: a JSON array, or NDJSON lines. A body that is not JSON at
 * all is a 400; in NDJSON a single bad line is only that item's error, so the
 * other lines still go through.
 */
export function parseItems(body: Buffer, format: BodyFormat): { items: unknown[]; lineErrors: Map<number, string> } {
  const text = body.toString("utf8");
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
