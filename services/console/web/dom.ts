/** Small DOM helpers: every text goes in as text, never as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: (Node | string | null)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child !== null) element.append(child);
  return element;
}

export interface Column<Row> {
  label: string;
  /** The cell's text. */
  text: (row: Row) => string;
  /** data-metric of the cell (the view's column), and data-value (the raw figure) when given. */
  metric?: string;
  value?: (row: Row) => string;
  isLabel?: boolean;
}

/**
 * A data table beside a chart: the chart's figures as text, each cell marked with data-key (the row),
 * data-metric (the view's column) and data-value (the raw figure as the view gave it).
 */
export function dataTable<Row>(name: string, rows: readonly Row[], key: (row: Row) => string, columns: readonly Column<Row>[], open = false): HTMLElement {
  const head = el("tr", {}, ...columns.map((column) => el("th", { class: column.isLabel ? "label" : "", scope: "col" }, column.label)));
  const body = rows.map((row) =>
    el(
      "tr",
      { "data-key": key(row) },
      ...columns.map((column) => {
        const attributes: Record<string, string> = { class: column.isLabel ? "label" : "" };
        if (column.metric !== undefined) attributes["data-metric"] = column.metric;
        if (column.value !== undefined) attributes["data-value"] = column.value(row);
        return el("td", attributes, column.text(row));
      }),
    ),
  );
  const table = el("table", { class: "data", "data-table": name }, el("thead", {}, head), el("tbody", {}, ...body));
  const details = el("details", {}, el("summary", {}, `Data table (${rows.length} rows)`), el("div", { class: "scroll" }, table));
  if (open) details.open = true;
  return details;
}

export function card(title: string, ...children: (Node | string | null)[]): HTMLElement {
  return el("section", { class: "card" }, el("h2", {}, title), ...children);
}

export function chartBox(name: string, small = false): HTMLDivElement {
  return el("div", { class: small ? "chart small" : "chart", "data-chart": name, role: "img", "aria-label": `${name} chart (its figures are in the data table below it)` });
}

export const dateText = (ms: string | number) => new Date(Number(ms)).toISOString().replace("T", " ").replace(/:\d\d\.\d{3}Z$/, " UTC");
export const monthText = (isoDate: string) => isoDate.slice(0, 7);
