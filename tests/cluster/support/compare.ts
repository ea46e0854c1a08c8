import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows, quoteString } from "@clm/clickhouse";
import { expect } from "vitest";

/**
 * Reading whole answers of two databases in a form that compares row for row. Rows come in any
 * order (ORDER BY is the caller's business, not the view's), so both sides are sorted the same way.
 * Exact values compare exactly: text, integers, and Decimal money (strings in JSON). A fractional
 * double compares to 10⁻⁹ relative: a sum of doubles depends on the order it is added in, which
 * differs between one server's threads and two shards' partial sums.
 */
export type AnswerRow = Record<string, unknown>;

const sortKey = (row: AnswerRow) =>
  JSON.stringify(Object.values(row).map((value) => (typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value)));

function sameValue(left: unknown, right: unknown): boolean {
  if (typeof left === "number" && typeof right === "number" && !(Number.isInteger(left) && Number.isInteger(right))) {
    return Math.abs(left - right) <= 1e-9 * Math.max(1, Math.abs(left), Math.abs(right));
  }
  return JSON.stringify(left) === JSON.stringify(right);
}

/** The two answers hold the same rows (as multisets), doubles to 10⁻⁹ relative. */
export function expectSameRows(what: string, actual: readonly AnswerRow[], expected: readonly AnswerRow[]): void {
  expect(actual.length, `${what}: rows`).toBe(expected.length);
  const left = [...actual].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  const right = [...expected].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  for (let index = 0; index < left.length; index++) {
    const [a, b] = [left[index]!, right[index]!];
    expect(Object.keys(a), `${what}: columns`).toEqual(Object.keys(b));
    const differs = Object.keys(a).filter((column) => !sameValue(a[column], b[column]));
    if (differs.length > 0) expect(a, `${what}: row ${index} differs in ${differs.join(", ")}`).toEqual(b);
  }
}

/** Every view of the database, by name. */
export async function viewNames(client: ClickHouseClient, database: string): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(client, `SELECT name FROM system.tables WHERE database = ${quoteString(database)} AND engine = 'View' ORDER BY name`);
  return rows.map((row) => row.name);
}

/** The whole answer of a query and how long it took. */
export async function timedRows(client: ClickHouseClient, sql: string): Promise<{ rows: AnswerRow[]; ms: number }> {
  const started = performance.now();
  const rows = await queryRows<AnswerRow>(client, sql);
  return { rows, ms: performance.now() - started };
}
