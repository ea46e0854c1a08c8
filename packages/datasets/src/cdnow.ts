import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createInputEventSchema, parseInputEvent, type CustomerEvent } from "@clm/core";
import type { InputEventJson } from "./input-event-json.ts";

/** The copies shipped in data/cdnow (see its README for attribution and format). */
export const CDNOW_MASTER_PATH = fileURLToPath(new URL("../../../data/cdnow/CDNOW_master.txt", import.meta.url));
export const CDNOW_SAMPLE_PATH = fileURLToPath(new URL("../../../data/cdnow/CDNOW_sample.txt", import.meta.url));

export interface CdnowParseError {
  row: number;
  line: string;
  message: string;
}

const DATE = /^(\d{4})(\d{2})(\d{2})$/;
const AMOUNT = /^\d+(?:\.\d{1,4})?$/;

/**
 * One CDNOW row → one purchase event (JSON form). Master rows have 4 columns;
 * sample rows have 5 (master id first, then the sample id), and keep the master id.
 * `row` is the 1-based data row number, which makes the event id stable.
 */
export function parseCdnowLine(line: string, row: number): InputEventJson | CdnowParseError {
  const columns = line.trim().split(/\s+/);
  if (columns.length !== 4 && columns.length !== 5) return { row, line, message: `expected 4 or 5 columns, got ${columns.length}` };
  const [id, date, cds, dollars] = columns.length === 5 ? [columns[0], columns[2], columns[3], columns[4]] : columns;
  if (!/^\d+$/.test(id ?? "")) return { row, line, message: `customer id ${JSON.stringify(id)} is not a number` };
  const day = DATE.exec(date ?? "");
  if (!day) return { row, line, message: `date ${JSON.stringify(date)} is not YYYYMMDD` };
  if (!/^\d+$/.test(cds ?? "")) return { row, line, message: `number_of_cds ${JSON.stringify(cds)} is not an integer` };
  if (!AMOUNT.test(dollars ?? "")) return { row, line, message: `dollar_value ${JSON.stringify(dollars)} is not a decimal` };
  const quantity = Number(cds);
  return {
    eventId: `cdnow-${row}`,
    type: "purchase",
    customerId: String(Number(id)),
    occurredAt: `${day[1]}-${day[2]}-${day[3]}T00:00:00Z`,
    properties: { orderId: `cdnow-${row}`, amount: dollars, currency: "USD", ...(quantity >= 1 ? { quantity } : {}) },
  };
}

/** Parses a whole file's text; the header line (if any) is skipped and not counted as a row. */
export function parseCdnowText(text: string): { events: InputEventJson[]; errors: CdnowParseError[] } {
  const events: InputEventJson[] = [];
  const errors: CdnowParseError[] = [];
  let row = 0;
  let first = true;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const header = first && /[a-z]/i.test(line);
    first = false;
    if (header) continue;
    row++;
    const parsed = parseCdnowLine(line, row);
    if ("message" in parsed) errors.push(parsed);
    else events.push(parsed);
  }
  return { events, errors };
}

export async function readCdnowFile(path = CDNOW_MASTER_PATH): Promise<{ events: InputEventJson[]; errors: CdnowParseError[] }> {
  return parseCdnowText(await readFile(path, "utf8"));
}

/** The CDNOW purchases validated by the pipeline's own contract, in time order (stable for equal times). */
export async function readCdnowCustomerEvents(path = CDNOW_MASTER_PATH): Promise<CustomerEvent[]> {
  const { events: rows, errors } = await readCdnowFile(path);
  if (errors.length > 0) throw new Error(`${path}: row ${errors[0]!.row}: ${errors[0]!.message}`);
  const schema = createInputEventSchema({ reportingCurrency: "USD" });
  const events = rows.map((row) => {
    const parsed = parseInputEvent(schema, row);
    if (!parsed.ok) throw new Error(`CDNOW row ${row.eventId} rejected: ${JSON.stringify(parsed.errors)}`);
    return parsed.event;
  });
  return events.sort((left, right) => left.occurredAt - right.occurredAt);
}
