import { formatAmount, formatCount, formatMoney, formatParameter, formatRatio } from "../../src/format.ts";
import type { TierCount, TierShare, ValueCohort, ValueModelRow } from "../../src/value-rows.ts";
import { getJson, query } from "../api.ts";
import { drawChart, TIER_COLORS } from "../charts.ts";
import { card, chartBox, dataTable, el, monthText } from "../dom.ts";

interface Range {
  from: string;
  to: string;
}
interface ValueAnswer {
  range: Range | null;
  model: ValueModelRow | null;
  models: ValueModelRow[];
  shares: TierShare[];
  tiers: TierCount[];
  cohorts: ValueCohort[];
}

const TIERS = ["high_value", "potential", "base", "warning"] as const;

function facts(name: string, entries: [field: string, label: string, value: string][]): HTMLElement {
  return el("dl", { class: "facts", "data-facts": name }, ...entries.map(([field, label, value]) => el("div", {}, el("dt", {}, label), el("dd", { "data-field": field }, value))));
}

/** The current value model, tier shares per month, predicted against realised value per cohort, and the tiers now. */
export async function renderValue(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const from = params.get("from");
  const to = params.get("to");
  const answer = await getJson<ValueAnswer>(`/api/value${query({ from, to })}`);
  const { model, range } = answer;
  main.append(
    el("h1", {}, "Value"),
    el(
      "form",
      { class: "controls", method: "get", action: "/value" },
      el("label", {}, "First month", el("input", { name: "from", type: "month", value: range ? monthText(range.from) : "" })),
      el("label", {}, "Last month", el("input", { name: "to", type: "month", value: range ? monthText(range.to) : "" })),
      el("button", { type: "submit" }, "Show"),
    ),
  );
  if (model === null) {
    main.append(card("No value model yet", el("p", { class: "muted", "data-outcome": "no-model" }, "No model has been fitted: `npx clm model fit` fits and activates one (docs/value.md).")));
    return;
  }

  main.append(
    card(
      `Current model ${model.model_version}`,
      el("p", { class: "note" }, `The latest fit (value_model_fits_unique): BG/NBD and Gamma-Gamma fitted on the purchases up to the calibration end, in ${model.unit}s; tier cuts frozen with the version. Predicted CLV over ${model.clv_horizon_months} months, expected purchases over ${model.purchase_horizon_days} days.`),
      facts("model", [
        ["model_version", "model version", model.model_version],
        ["calibration_end", "calibration end", model.calibration_end],
        ["unit", "unit", model.unit],
        ["fitted_at", "fitted at (UTC)", model.fitted_at],
        ["r", "BG/NBD r", formatParameter(model.r)],
        ["alpha", "BG/NBD α", formatParameter(model.alpha)],
        ["a", "BG/NBD a", formatParameter(model.a)],
        ["b", "BG/NBD b", formatParameter(model.b)],
        ["bgnbd_customers", "BG/NBD customers", formatCount(model.bgnbd_customers)],
        ["bgnbd_log_likelihood", "BG/NBD log-likelihood", model.bgnbd_log_likelihood.toFixed(2)],
        ["p", "Gamma-Gamma p", formatParameter(model.p)],
        ["q", "Gamma-Gamma q", formatParameter(model.q)],
        ["v", "Gamma-Gamma v", formatParameter(model.v)],
        ["gg_customers", "Gamma-Gamma customers", formatCount(model.gg_customers)],
        ["gg_log_likelihood", "Gamma-Gamma log-likelihood", model.gg_log_likelihood.toFixed(2)],
        ["high_value_clv", "high_value: CLV ≥", formatAmount(model.high_value_clv)],
        ["potential_clv", "potential: CLV ≥", formatAmount(model.potential_clv)],
        ["warning_monetary", "warning: spend ≥ (and P(alive) low)", formatAmount(model.warning_monetary)],
        ["clv_monthly_discount_rate", "monthly discount rate", formatRatio(model.clv_monthly_discount_rate)],
      ]),
      dataTable("models", answer.models, (row) => row.model_version, [
        { label: "model version", text: (row) => row.model_version, isLabel: true },
        { label: "calibration end", text: (row) => row.calibration_end, isLabel: true },
        { label: "fitted at", text: (row) => row.fitted_at, isLabel: true },
        { label: "customers", text: (row) => formatCount(row.bgnbd_customers), metric: "bgnbd_customers", value: (row) => String(row.bgnbd_customers) },
        { label: "high_value CLV ≥", text: (row) => formatAmount(row.high_value_clv), metric: "high_value_clv", value: (row) => String(row.high_value_clv) },
        { label: "potential CLV ≥", text: (row) => formatAmount(row.potential_clv), metric: "potential_clv", value: (row) => String(row.potential_clv) },
        { label: "warning spend ≥", text: (row) => formatAmount(row.warning_monetary), metric: "warning_monetary", value: (row) => String(row.warning_monetary) },
      ]),
    ),
  );

  // Tier shares: stacked, each month sums to 100%.
  const months = [...new Set(answer.shares.map((share) => share.month_end))];
  const sharesBox = chartBox("tier-shares");
  main.append(
    card(
      "Value tier shares at the end of each month",
      el("p", { class: "note" }, "Stacked: each customer with a tier counts in the tier of their latest tier change at the month end; share = the tier's customers / customers with a tier (value_tier_shares_monthly)."),
      sharesBox,
      dataTable("tier-shares", answer.shares, (share) => `${share.month_end}|${share.tier}`, [
        { label: "month end", text: (share) => share.month_end, isLabel: true },
        { label: "tier", text: (share) => share.tier, isLabel: true },
        { label: "customers", text: (share) => formatCount(share.customers), metric: "customers", value: (share) => share.customers },
        { label: "share", text: (share) => formatRatio(share.share), metric: "share", value: (share) => String(share.share) },
      ]),
    ),
  );
  const percent = (ratio: number) => Math.round(ratio * 1000) / 10;
  drawChart("tier-shares", sharesBox, {
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", valueFormatter: (value: number) => `${value.toFixed(1)}%` },
    xAxis: { type: "category", data: months.map(monthText) },
    yAxis: { type: "value", name: "%", max: 100 },
    series: TIERS.map((tier) => ({
      name: tier,
      type: "bar",
      stack: "tiers",
      color: TIER_COLORS[tier],
      data: months.map((month) => percent(answer.shares.find((share) => share.month_end === month && share.tier === tier)?.share ?? 0)),
    })),
  });

  // Predicted against realised per cohort, and the tiers now.
  const cohortsBox = chartBox("value-cohorts", true);
  const tiersBox = chartBox("tiers-now", true);
  const tierRows = TIERS.map((tier) => answer.tiers.find((row) => row.tier === tier)).filter((row) => row !== undefined);
  const tiered = tierRows.reduce((sum, row) => sum + Number(row.customers), 0);
  main.append(
    el(
      "div",
      { class: "grid2" },
      card(
        `Predicted vs realised value per first-purchase cohort (${model.model_version})`,
        el("p", { class: "note" }, `Customers of the fit population by the month of their first purchase: predicted CLV at the calibration end (${model.calibration_end}) against what they spent in the ${model.clv_horizon_months} months after it, as far as the data reach (value_predicted_vs_realised_by_cohort).`),
        cohortsBox,
        dataTable("value-cohorts", answer.cohorts, (cohort) => cohort.cohort, [
          { label: "cohort", text: (cohort) => monthText(cohort.cohort), isLabel: true },
          { label: "customers", text: (cohort) => formatCount(cohort.customers), metric: "customers", value: (cohort) => cohort.customers },
          { label: "predicted CLV", text: (cohort) => formatAmount(cohort.predicted_clv_total), metric: "predicted_clv_total", value: (cohort) => String(cohort.predicted_clv_total) },
          { label: "predicted CLV per customer", text: (cohort) => formatAmount(cohort.predicted_clv_mean), metric: "predicted_clv_mean", value: (cohort) => String(cohort.predicted_clv_mean) },
          { label: "realised spend", text: (cohort) => formatMoney(cohort.realised_spend_text), metric: "realised_spend", value: (cohort) => cohort.realised_spend_text },
          { label: "realised / predicted", text: (cohort) => formatRatio(cohort.realised_to_predicted), metric: "realised_to_predicted", value: (cohort) => String(cohort.realised_to_predicted) },
        ]),
      ),
      card(
        "Customers per value tier now",
        el("p", { class: "note" }, "Each customer in the tier of their latest tier change (value_tier_changes_unique); customers without a tier yet are not counted."),
        tiersBox,
        dataTable("tiers-now", tierRows, (row) => row.tier, [
          { label: "tier", text: (row) => row.tier, isLabel: true },
          { label: "customers", text: (row) => formatCount(row.customers), metric: "customers", value: (row) => row.customers },
          { label: "share", text: (row) => formatRatio(tiered === 0 ? 0 : Number(row.customers) / tiered), metric: "share" },
        ]),
      ),
    ),
  );
  drawChart("value-cohorts", cohortsBox, {
    grid: { left: 70, right: 20, top: 40, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", valueFormatter: (value: number) => formatAmount(value) },
    xAxis: { type: "category", data: answer.cohorts.map((cohort) => monthText(cohort.cohort)) },
    yAxis: { type: "value", name: "currency" },
    series: [
      { name: "predicted CLV", type: "bar", color: TIER_COLORS.potential, data: answer.cohorts.map((cohort) => cohort.predicted_clv_total) },
      { name: "realised spend", type: "bar", color: TIER_COLORS.high_value, data: answer.cohorts.map((cohort) => Number(cohort.realised_spend_text)) },
    ],
  });
  drawChart("tiers-now", tiersBox, {
    grid: { left: 70, right: 20, top: 36, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: tierRows.map((row) => row.tier) },
    yAxis: { type: "value", name: "customers" },
    series: [{ name: "customers", type: "bar", data: tierRows.map((row) => ({ value: Number(row.customers), itemStyle: { color: TIER_COLORS[row.tier] } })) }],
  });
}
