export type Align = "left" | "right";

/**
 * An aligned plain-text table: columns separated by two spaces, numbers usually right-aligned,
 * no trailing spaces. Cells are strings already formatted by the caller.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const columns = Math.max(headers.length, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(width(headers[column] ?? ""), ...rows.map((row) => width(row[column] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    widths
      .map((size, column) => {
        const cell = cells[column] ?? "";
        const pad = " ".repeat(size - width(cell));
        return (align[column] ?? "left") === "right" ? pad + cell : cell + pad;
      })
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Display width: code points, which is right for the ASCII and simple symbols used here. */
function width(text: string): number {
  return [...text].length;
}

/** 1234567 → "1,234,567". */
export function formatCount(value: number | bigint): string {
  return value.toLocaleString("en-US");
}
