import type { ValueModel, ValueTier } from "@clm/core";
import { renderTable } from "./table.ts";

/** `clm model fit --json`: the model's figures under fixed keys (more under other keys). */
export interface ModelJson {
  calibrationEnd: string;
  unit: string;
  bgnbd: { r: number; alpha: number; a: number; b: number; logLikelihood: number; customers: number };
  gammaGamma: { p: number; q: number; v: number; logLikelihood: number; customers: number };
  modelVersion: string;
  fittedAt: string;
  tierCuts: { highValueClv: number; potentialClv: number; warningMonetary: number };
}

export function modelJson(model: ValueModel): ModelJson {
  const { r, alpha, a, b, logLikelihood, customers } = model.bgnbd;
  const gg = model.gammaGamma;
  return {
    calibrationEnd: model.calibrationEnd,
    unit: model.unit,
    bgnbd: { r, alpha, a, b, logLikelihood, customers },
    gammaGamma: { p: gg.p, q: gg.q, v: gg.v, logLikelihood: gg.logLikelihood, customers: gg.customers },
    modelVersion: model.version,
    fittedAt: model.fittedAt,
    tierCuts: { ...model.tierCuts },
  };
}

/** Customers per tier, every tier present (0 where none), in a fixed order. */
export function tierCounts(tiers: Iterable<ValueTier>): Record<ValueTier, number> {
  const counts: Record<ValueTier, number> = { high_value: 0, potential: 0, base: 0, warning: 0 };
  for (const tier of tiers) counts[tier] += 1;
  return counts;
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const money = (value: number) => value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** The model as people read it: version, parameters, fit quality, tier cuts (and tier sizes when known). */
export function renderModel(model: ValueModel, tiers?: Record<ValueTier, number>): string {
  const lines = [
    `value model ${model.version}`,
    `  calibration end ${model.calibrationEnd} (purchase days up to and including it), unit ${model.unit}, fitted ${model.fittedAt}`,
    "",
    renderTable(
      ["model", "parameters", "log-likelihood", "customers"],
      [
        ["BG/NBD", `r ${fixed(model.bgnbd.r, 4)}  alpha ${fixed(model.bgnbd.alpha, 4)}  a ${fixed(model.bgnbd.a, 4)}  b ${fixed(model.bgnbd.b, 4)}`, fixed(model.bgnbd.logLikelihood, 2), String(model.bgnbd.customers)],
        ["Gamma-Gamma", `p ${fixed(model.gammaGamma.p, 4)}  q ${fixed(model.gammaGamma.q, 4)}  v ${fixed(model.gammaGamma.v, 4)}`, fixed(model.gammaGamma.logLikelihood, 2), String(model.gammaGamma.customers)],
      ],
      ["left", "left", "right", "right"],
    ),
    "",
    renderTable(
      ["tier", "rule", ...(tiers ? ["customers"] : [])],
      [
        ["warning", `P(alive) below the threshold and realised spend >= ${money(model.tierCuts.warningMonetary)}`, ...(tiers ? [String(tiers.warning)] : [])],
        ["high_value", `predicted CLV >= ${money(model.tierCuts.highValueClv)}`, ...(tiers ? [String(tiers.high_value)] : [])],
        ["potential", `predicted CLV >= ${money(model.tierCuts.potentialClv)}`, ...(tiers ? [String(tiers.potential)] : [])],
        ["base", "everyone else", ...(tiers ? [String(tiers.base)] : [])],
      ],
      ["left", "left", "right"],
    ),
  ];
  return lines.join("\n");
}

/** What `clm model evaluate` compares (a HoldoutEvaluation of @clm/value-model). */
export interface EvaluationFigures {
  calibrationEnd: string;
  holdoutEnd: string;
  holdoutDays: number;
  customers: number;
  actual: { purchases: number; spend: number };
  model: { purchases: number; spend: number; purchasesMae: number; spendMae: number };
  naive: { purchases: number; spend: number; purchasesMae: number; spendMae: number };
}

export function renderEvaluation(model: ValueModel, evaluation: EvaluationFigures): string {
  const row = (name: string, figures: EvaluationFigures["model"] | EvaluationFigures["actual"], mae?: EvaluationFigures["model"]) => [
    name,
    fixed(figures.purchases, 1),
    money(figures.spend),
    mae ? fixed(mae.purchasesMae, 4) : "",
    mae ? fixed(mae.spendMae, 2) : "",
  ];
  return [
    `hold-out ${evaluation.calibrationEnd} < day <= ${evaluation.holdoutEnd} (${evaluation.holdoutDays} days), ${evaluation.customers} calibration customers; model ${model.version} (not activated)`,
    "",
    renderTable(
      ["", "repeat purchase days", "spend", "MAE purchase days", "MAE spend"],
      [row("actual", evaluation.actual), row("BG/NBD + Gamma-Gamma", evaluation.model, evaluation.model), row("naive (calibration rate)", evaluation.naive, evaluation.naive)],
      ["left", "right", "right", "right", "right"],
    ),
  ].join("\n");
}
