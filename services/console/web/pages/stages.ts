import { formatCount, formatRatio } from "../../src/format.ts";
import { getJson, query } from "../api.ts";
import { drawChart, STAGE_COLORS } from "../charts.ts";
import { card, chartBox, dataTable, el, monthText } from "../dom.ts";

interface Range {
  from: string;
  to: string;
}
interface StagesAnswer {
  range: Range | null;
  counts: { month_start: string; stage: string; customers: string }[];
}
interface TransitionsAnswer {
  range: Range | null;
  counts: { month_start: string; from_stage: string | null; to_stage: string; transitions: string; customers: string }[];
}
interface ChurnAnswer {
  range: Range | null;
  months: { month_start: string; base_customers: string; churned: string; churn_rate: number; churned_at_start: string; won_back: string; win_back_rate: number }[];
}
interface ActivationAnswer {
  range: Range | null;
  cohorts: { cohort: string; cohort_customers: string; activated_customers: string; activation_rate: number }[];
}

const STAGES = ["prospect", "new", "active", "loyal", "at_risk", "churned", "won_back"] as const;
const FIRST = "(first stage)";

/** Stage distribution over time, the stage flow of one month, churn and win-back rates, activation per cohort. */
export async function renderStages(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const from = params.get("from");
  const to = params.get("to");
  // All at once: the transitions of the whole range (at most 120 months of at most 56 from → to pairs), the month picked here.
  const [stages, churn, activation, allFlows] = await Promise.all([
    getJson<StagesAnswer>(`/api/stages${query({ from, to })}`),
    getJson<ChurnAnswer>(`/api/churn${query({ from, to })}`),
    getJson<ActivationAnswer>(`/api/activation${query({ from, to })}`),
    getJson<TransitionsAnswer>(`/api/transitions${query({ from, to })}`),
  ]);
  const months = [...new Set(stages.counts.map((count) => count.month_start))];
  // By default the last whole month: the latest one is still running (or, after a replay's clock advance, holds only its first instant).
  const flowMonth = params.get("month") !== null && months.includes(params.get("month")!) ? params.get("month")! : (months.at(-2) ?? months.at(-1) ?? null);
  const flows = flowMonth === null ? null : { range: { from: flowMonth, to: flowMonth }, counts: allFlows.counts.filter((count) => count.month_start === flowMonth) };

  const monthSelect = el("select", { name: "month", id: "month" });
  for (const month of months) monthSelect.append(el("option", { value: month, ...(month === flowMonth ? { selected: "" } : {}) }, monthText(month)));
  monthSelect.addEventListener("change", () => monthSelect.form?.submit());
  main.append(
    el("h1", {}, "Stages"),
    el(
      "form",
      { class: "controls", method: "get", action: "/stages" },
      el("label", {}, "First month", el("input", { name: "from", type: "month", value: stages.range ? monthText(stages.range.from) : "" })),
      el("label", {}, "Last month", el("input", { name: "to", type: "month", value: stages.range ? monthText(stages.range.to) : "" })),
      el("label", {}, "Flow of month", monthSelect),
      el("button", { type: "submit" }, "Show"),
    ),
  );

  // Stage distribution: stacked areas.
  const distribution = chartBox("stages");
  main.append(
    card(
      "Customers per stage at the end of each month",
      el("p", { class: "note" }, "Stacked: every customer is in exactly one stage (stage_distribution_monthly)."),
      distribution,
      dataTable("stages", stages.counts, (count) => `${count.month_start}|${count.stage}`, [
        { label: "month", text: (count) => monthText(count.month_start), isLabel: true },
        { label: "stage", text: (count) => count.stage, isLabel: true },
        { label: "customers", text: (count) => formatCount(count.customers), metric: "customers", value: (count) => count.customers },
      ]),
    ),
  );
  drawChart("stages", distribution, {
    grid: { left: 60, right: 20, top: 40, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: months.map(monthText), boundaryGap: false },
    yAxis: { type: "value", name: "customers" },
    series: STAGES.map((stage) => ({
      name: stage,
      type: "line",
      stack: "stages",
      areaStyle: {},
      showSymbol: false,
      color: STAGE_COLORS[stage],
      data: months.map((month) => Number(stages.counts.find((count) => count.month_start === month && count.stage === stage)?.customers ?? 0)),
    })),
  });

  // Stage flow of one month: the transition matrix.
  const matrix = chartBox("transitions", true);
  const rows = [FIRST, ...STAGES];
  const cells = (flows?.counts ?? []).map((count) => [STAGES.indexOf(count.to_stage as (typeof STAGES)[number]), rows.indexOf(count.from_stage ?? FIRST), Number(count.transitions), count] as const);
  main.append(
    card(
      `Stage flow in ${flowMonth === null ? "—" : monthText(flowMonth)}: from (row) → to (column)`,
      el("p", { class: "note" }, "Stage changes in the month and the distinct customers who made them (stage_transition_funnel_monthly; a first stage has no from)."),
      matrix,
      dataTable("transitions", flows?.counts ?? [], (count) => `${count.month_start}|${count.from_stage ?? ""}|${count.to_stage}`, [
        { label: "month", text: (count) => monthText(count.month_start), isLabel: true },
        { label: "from", text: (count) => count.from_stage ?? FIRST, isLabel: true },
        { label: "to", text: (count) => count.to_stage, isLabel: true },
        { label: "transitions", text: (count) => formatCount(count.transitions), metric: "transitions", value: (count) => count.transitions },
        { label: "customers", text: (count) => formatCount(count.customers), metric: "customers", value: (count) => count.customers },
      ]),
    ),
  );
  drawChart("transitions", matrix, {
    grid: { left: 110, right: 20, top: 10, bottom: 40 },
    xAxis: { type: "category", data: [...STAGES], name: "to" },
    yAxis: { type: "category", data: rows, inverse: true, name: "from" },
    visualMap: { show: false, min: 0, max: Math.max(1, ...cells.map((cell) => cell[2])), inRange: { color: ["#f2f6fd", "#2f6fde"] } },
    tooltip: { formatter: (item: { dataIndex: number }) => { const count = cells[item.dataIndex]![3]; return `${count.from_stage ?? FIRST} → ${count.to_stage}<br>transitions: ${formatCount(count.transitions)}<br>customers: ${formatCount(count.customers)}`; } },
    series: [{ type: "heatmap", data: cells.map((cell) => [cell[0], cell[1], cell[2]]), label: { show: true, fontSize: 10, formatter: (item: { value: number[] }) => formatCount(item.value[2]!) } }],
  });

  // Churn and win-back rates.
  const rates = chartBox("churn", true);
  const activationBox = chartBox("activation", true);
  main.append(
    el(
      "div",
      { class: "grid2" },
      card(
        "Churn and win-back rates per month",
        el("p", { class: "note" }, "churn rate = customers who churned in the month / customers in new, active, loyal, at_risk or won_back at its start; win-back rate = customers won back / customers churned at its start (churn_winback_monthly)."),
        rates,
        dataTable("churn", churn.months, (month) => month.month_start, [
          { label: "month", text: (month) => monthText(month.month_start), isLabel: true },
          { label: "base", text: (month) => formatCount(month.base_customers), metric: "base_customers", value: (month) => month.base_customers },
          { label: "churned", text: (month) => formatCount(month.churned), metric: "churned", value: (month) => month.churned },
          { label: "churn rate", text: (month) => formatRatio(month.churn_rate), metric: "churn_rate", value: (month) => String(month.churn_rate) },
          { label: "churned at start", text: (month) => formatCount(month.churned_at_start), metric: "churned_at_start", value: (month) => month.churned_at_start },
          { label: "won back", text: (month) => formatCount(month.won_back), metric: "won_back", value: (month) => month.won_back },
          { label: "win-back rate", text: (month) => formatRatio(month.win_back_rate), metric: "win_back_rate", value: (month) => String(month.win_back_rate) },
        ]),
      ),
      card(
        "Activation rate per monthly cohort",
        el("p", { class: "note" }, "Cohort customers who went new → active, i.e. bought on a second day inside the activation window (cohort_activation_monthly)."),
        activationBox,
        dataTable("activation", activation.cohorts, (cohort) => cohort.cohort, [
          { label: "cohort", text: (cohort) => monthText(cohort.cohort), isLabel: true },
          { label: "cohort customers", text: (cohort) => formatCount(cohort.cohort_customers), metric: "cohort_customers", value: (cohort) => cohort.cohort_customers },
          { label: "activated", text: (cohort) => formatCount(cohort.activated_customers), metric: "activated_customers", value: (cohort) => cohort.activated_customers },
          { label: "activation rate", text: (cohort) => formatRatio(cohort.activation_rate), metric: "activation_rate", value: (cohort) => String(cohort.activation_rate) },
        ]),
      ),
    ),
  );
  const percent = (ratio: number) => Math.round(ratio * 1000) / 10;
  drawChart("churn", rates, {
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", valueFormatter: (value: number) => `${value.toFixed(1)}%` },
    xAxis: { type: "category", data: churn.months.map((month) => monthText(month.month_start)) },
    yAxis: { type: "value", name: "%" },
    series: [
      { name: "churn rate", type: "line", color: STAGE_COLORS.churned, data: churn.months.map((month) => percent(month.churn_rate)) },
      { name: "win-back rate", type: "line", color: STAGE_COLORS.won_back, data: churn.months.map((month) => percent(month.win_back_rate)) },
    ],
  });
  drawChart("activation", activationBox, {
    grid: { left: 50, right: 20, top: 30, bottom: 30 },
    tooltip: { trigger: "axis", valueFormatter: (value: number) => `${value.toFixed(1)}%` },
    xAxis: { type: "category", data: activation.cohorts.map((cohort) => monthText(cohort.cohort)) },
    yAxis: { type: "value", name: "%", max: 100 },
    series: [{ name: "activation rate", type: "bar", color: STAGE_COLORS.active, data: activation.cohorts.map((cohort) => percent(cohort.activation_rate)) }],
  });
}
