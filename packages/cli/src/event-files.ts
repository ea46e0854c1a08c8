import { parseCdnowText, type InputEventJson } from "@clm/datasets";
import type { InputEvent } from "@clm/client";

export type EventFileFormat = "cdnow" | "ndjson";

export interface EventFileProblem {
  /** 1-based line (ndjson) or data row (cdnow). */
  line: number;
  message: string;
}

/** The format from the file name when --format is not given: .ndjson/.jsonl are NDJSON, .txt is CDNOW. */
export function formatFromPath(path: string): EventFileFormat | null {
  if (/\.(ndjson|jsonl)$/i.test(path)) return "ndjson";
  if (/\.txt$/i.test(path)) return "cdnow";
  return null;
}

/**
 * A file's text → the JSON events the ingest API takes. CDNOW rows become purchases (packages/datasets)
 * and are sent in time order, like the demo's replay: the file is grouped by customer, and in
 * event-time mode a watermark that jumps to 1998 with the first customer would make everyone
 * else's events late. NDJSON lines are sent in file order, exactly as written; the server
 * validates them (rejections name the field).
 */
export function parseEventFile(text: string, format: EventFileFormat): { events: InputEvent[]; problems: EventFileProblem[] } {
  if (format === "cdnow") {
    const { events, errors } = parseCdnowText(text);
    return { events: sortByOccurredAt(events) as InputEvent[], problems: errors.map((error) => ({ line: error.row, message: error.message })) };
  }
  return parseNdjson(text);
}

export function parseNdjson(text: string): { events: InputEvent[]; problems: EventFileProblem[] } {
  const events: InputEvent[] = [];
  const problems: EventFileProblem[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === "") return;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value !== "object" || value === null || Array.isArray(value)) problems.push({ line: index + 1, message: "not a JSON object" });
      else events.push(value as InputEvent);
    } catch (error) {
      problems.push({ line: index + 1, message: (error as Error).message });
    }
  });
  return { events, problems };
}

/** Stable sort by occurredAt (ISO-8601 instants), keeping file order for equal times. */
export function sortByOccurredAt(events: readonly InputEventJson[]): InputEventJson[] {
  return events
    .map((event, index) => ({ event, index, at: Date.parse(event.occurredAt) }))
    .sort((left, right) => left.at - right.at || left.index - right.index)
    .map(({ event }) => event);
}
