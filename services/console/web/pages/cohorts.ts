import { formatCount, formatMoney, formatRatio, ratioOf } from "../../src/format.ts";
import { getJson, query } from "../api.ts";
import { drawChart } from "../charts.ts";
import { card, chartBox, dataTable, el } from "../dom.ts";

interface Range {
  from: string;
  to: string;
}
interface RetentionAnswer {
  grain: "month" | "week";
  range: Range | null;
  cells: { cohort: string; period: number; cohort_customers: string; active_customers: string; revenue_text: string }[];
}
interface LtvAnswer {
  range: Range | null;
  points: { cohort: string; period: number; cohort_customers: string; cumulative_revenue_text: string; ltv_text: string }[];
}

type Metric = "counts" | "percent" | "revenue";
const METRICS: Record<Metric, string> = { counts: "Active customers", percent: "% of the cohort", revenue: "Revenue" };

function select(name: string, value: string, options: Record<string, string>): HTMLSelectElement {
  const element = el("select", { name, id: name });
  for (const [key, label] of Object.entries(options)) element.append(el("option", { value: key, ...(key === value ? { selected: "" } : {}) }, label));
  element.addEventListener("change", () => element.form?.submit());
  return element;
}

/** Cohort retention (heatmap: monthly or weekly; counts, % or revenue) and cumulative LTV per cohort. */
export async function renderCohorts(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const grain = params.get("grain") === "week" ? "week" : "month";
  const metric: Metric = params.get("metric") === "percent" || params.get("metric") === "revenue" ? (params.get("metric") as Metric) : "counts";
  const from = params.get("from");
  const to = params.get("to");
  const [retention, ltv] = await Promise.all([
    getJson<RetentionAnswer>(`/api/retention${query({ grain, from, to })}`),
    getJson<LtvAnswer>(`/api/ltv${query(grain === "month" ? { from, to } : {})}`),
  ]);
  const range = retention.range;
  const controls = el(
    "form",
    { class: "controls", method: "get", action: "/cohorts" },
    el("label", {}, "Cohorts by", select("grain", grain, { month: "month", week: "ISO week" })),
    el("label", {}, "Show", select("metric", metric, { counts: METRICS.counts, percent: METRICS.percent, revenue: METRICS.revenue })),
    el("label", {}, "First cohort", el("input", { name: "from", type: "date", value: range?.from ?? "" })),
    el("label", {}, "Last cohort", el("input", { name: "to", type: "date", value: range?.to ?? "" })),
    el("button", { type: "submit" }, "Show"),
  );
  main.append(el("h1", {}, "Cohorts"), controls);

  const heat = chartBox("retention");
  heat.style.height = `${Math.max(320, Math.min(1400, 90 + 14 * new Set(retention.cells.map((cell) => cell.cohort)).size))}px`;
  const what = grain === "month" ? "month" : "ISO week (Monday)";
  main.append(
    card(
      `Retention by ${grain === "month" ? "monthly" : "weekly"} cohort — ${METRICS[metric].toLowerCase()}`,
      el("p", { class: "note" }, `Row: the ${what} of a customer's first purchase. Column k: ${grain}s since then. A cell: cohort customers who bought in period k (cohort_retention_${grain === "month" ? "monthly" : "weekly"}).${range ? ` Range ${range.from} … ${range.to} (a period without new customers has no row).` : " No purchases yet."}`),
      heat,
      dataTable("retention", retention.cells, (cell) => `${cell.cohort}|${cell.period}`, [
        { label: "cohort", text: (cell) => cell.cohort, isLabel: true },
        { label: "k", text: (cell) => String(cell.period) },
        { label: "cohort customers", text: (cell) => formatCount(cell.cohort_customers), metric: "cohort_customers", value: (cell) => cell.cohort_customers },
        { label: "active customers", text: (cell) => formatCount(cell.active_customers), metric: "active_customers", value: (cell) => cell.active_customers },
        { label: "% active", text: (cell) => formatRatio(ratioOf(cell.active_customers, cell.cohort_customers)), metric: "active_share" },
        { label: "revenue", text: (cell) => formatMoney(cell.revenue_text), metric: "revenue", value: (cell) => cell.revenue_text },
      ]),
    ),
  );
  const cohorts = [...new Set(retention.cells.map((cell) => cell.cohort))];
  const cohortIndex = new Map(cohorts.map((cohort, index) => [cohort, index]));
  const periods = Math.max(0, ...retention.cells.map((cell) => cell.period + 1));
  const valueOf = (cell: RetentionAnswer["cells"][number]) =>
    metric === "counts" ? Number(cell.active_customers) : metric === "percent" ? Math.round(ratioOf(cell.active_customers, cell.cohort_customers) * 1000) / 10 : Number(cell.revenue_text);
  const values = retention.cells.map((cell) => ({ cell, value: [cell.period, cohortIndex.get(cell.cohort)!, valueOf(cell)] }));
  // Period 0 is the whole cohort by definition: the colour scale is taken from the later periods, so they are told apart.
  const later = values.filter((entry) => entry.cell.period > 0).map((entry) => entry.value[2] as number);
  drawChart("retention", heat, {
    grid: { left: 90, right: 20, top: 10, bottom: 70 },
    xAxis: { type: "category", name: "k", data: Array.from({ length: periods }, (_, k) => String(k)), splitArea: { show: true } },
    yAxis: { type: "category", data: cohorts, inverse: true },
    visualMap: { min: 0, max: Math.max(1, ...later), calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 200, inRange: { color: ["#f2f6fd", "#9ec0f0", "#2f6fde", "#16306b"] } },
    tooltip: {
      formatter: (item: { dataIndex: number }) => {
        const cell = values[item.dataIndex]!.cell;
        return [
          `<b>cohort ${cell.cohort}</b>, k = ${cell.period}`,
          `cohort customers: ${formatCount(cell.cohort_customers)}`,
          `active customers: ${formatCount(cell.active_customers)}`,
          `% active: ${formatRatio(ratioOf(cell.active_customers, cell.cohort_customers))}`,
          `revenue: ${formatMoney(cell.revenue_text)}`,
        ].join("<br>");
      },
    },
    series: [{ type: "heatmap", data: values.map((entry) => entry.value), label: { show: grain === "month" && metric !== "revenue", fontSize: 10, formatter: (item: { value: number[] }) => (metric === "percent" ? `${item.value[2]}` : formatCount(item.value[2]!)) } }],
  });

  const ltvBox = chartBox("ltv");
  const byCohort = new Map<string, LtvAnswer["points"]>();
  for (const point of ltv.points) byCohort.set(point.cohort, [...(byCohort.get(point.cohort) ?? []), point]);
  main.append(
    card(
      "Cumulative LTV per customer, by monthly cohort",
      el("p", { class: "note" }, `Revenue of the cohort from its first month through month k, per cohort customer (cohort_ltv_monthly: ltv = cumulative_revenue / cohort_customers).${ltv.range ? ` Range ${ltv.range.from} … ${ltv.range.to}.` : ""}`),
      ltvBox,
      dataTable("ltv", ltv.points, (point) => `${point.cohort}|${point.period}`, [
        { label: "cohort", text: (point) => point.cohort, isLabel: true },
        { label: "k", text: (point) => String(point.period) },
        { label: "cohort customers", text: (point) => formatCount(point.cohort_customers), metric: "cohort_customers", value: (point) => point.cohort_customers },
        { label: "cumulative revenue", text: (point) => formatMoney(point.cumulative_revenue_text), metric: "cumulative_revenue", value: (point) => point.cumulative_revenue_text },
        { label: "LTV", text: (point) => formatMoney(point.ltv_text), metric: "ltv", value: (point) => point.ltv_text },
      ]),
    ),
  );
  drawChart("ltv", ltvBox, {
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    legend: { type: "plain", top: 0, textStyle: { fontSize: 10 } },
    xAxis: { type: "value", name: "k (months)", minInterval: 1 },
    yAxis: { type: "value", name: "LTV" },
    tooltip: { trigger: "item", formatter: (item: { seriesName: string; value: [number, number, string] }) => `cohort ${item.seriesName}, k = ${item.value[0]}: LTV ${formatMoney(item.value[2])}` },
    series: [...byCohort].map(([cohort, points]) => ({ name: cohort.slice(0, 7), type: "line", showSymbol: false, data: points.map((point) => [point.period, Number(point.ltv_text), point.ltv_text]) })),
  });
}
