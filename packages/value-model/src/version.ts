import { createHash } from "node:crypto";
import type { BgnbdParams, GammaGammaParams, TierCuts, ValueUnit } from "@clm/core";

/** JSON with every object's keys sorted (recursively): the same content always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A model's version: `m-<calibrationEnd>-<first 8 hex of sha256 over the canonical JSON of
 * {unit, bgnbd: {r, alpha, a, b}, gammaGamma: {p, q, v}, tierCuts}>`. What a processor applies is
 * exactly what the hash covers, so two fits that would value customers the same share a version,
 * and a version never names two different models.
 */
export function modelVersion(calibrationEnd: string, content: { unit: ValueUnit; bgnbd: BgnbdParams; gammaGamma: GammaGammaParams; tierCuts: TierCuts }): string {
  const { r, alpha, a, b } = content.bgnbd;
  const { p, q, v } = content.gammaGamma;
  const { highValueClv, potentialClv, warningMonetary } = content.tierCuts;
  const text = canonicalJson({ unit: content.unit, bgnbd: { r, alpha, a, b }, gammaGamma: { p, q, v }, tierCuts: { highValueClv, potentialClv, warningMonetary } });
  return `m-${calibrationEnd}-${createHash("sha256").update(text).digest("hex").slice(0, 8)}`;
}
