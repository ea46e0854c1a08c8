import { renderTable } from "./table.ts";

/** A stage change as the customer API returns it (services/processor history entries). */
export interface TransitionJson {
  transitionId?: string;
  from?: string | null;
  to?: string;
  /** { code, numbers }: the reason code and the figures that decided it. */
  reason?: string | { code?: string; numbers?: Record<string, unknown> };
  occurredAt?: string;
  trigger?: string;
  eventId?: string | null;
  riskLevel?: string;
}

/**
 * The customer view as aligned `name  value` lines; nested objects (support, thresholds, rfm)
 * become dotted names so every figure is on its own line, nulls show as "-".
 */
export function formatCustomerView(view: Record<string, unknown>): string {
  const rows: string[][] = [];
  const walk = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0) rows.push([prefix, "{}"]);
      for (const [key, inner] of entries) walk(prefix ? `${prefix}.${key}` : key, inner);
      return;
    }
    rows.push([prefix, value === null || value === undefined ? "-" : Array.isArray(value) ? JSON.stringify(value) : String(value)]);
  };
  walk("", view);
  return renderTable(["field", "value"], rows);
}

const AS_OF_CLOCKS: Record<string, string> = {
  wall_clock: "the wall clock",
  event_watermark: "the event-time watermark of the customer's partition",
  requested: "as asked",
  evaluated_through: "the state's own evaluated-through instant, later than the pipeline's clock",
};

/** "as of 1998-07-01T00:00:00.000Z (the event-time watermark of the customer's partition)": the one instant every figure is read at. */
export function formatAsOf(view: Record<string, unknown>): string {
  const clock = String(view.asOfClock ?? "");
  return `as of ${String(view.asOf ?? "-")} (${AS_OF_CLOCKS[clock] ?? clock})`;
}

/** Stage changes, oldest first, one per line. */
export function formatTransitions(transitions: readonly TransitionJson[]): string {
  if (transitions.length === 0) return "(no stage changes recorded)";
  const ordered = [...transitions].sort((left, right) => String(left.occurredAt ?? "").localeCompare(String(right.occurredAt ?? "")));
  return renderTable(
    ["occurred at", "from", "to", "reason", "trigger", "risk"],
    ordered.map((transition) => [
      String(transition.occurredAt ?? "-"),
      String(transition.from ?? "(none)"),
      String(transition.to ?? "-"),
      formatReason(transition.reason),
      String(transition.trigger ?? "-"),
      String(transition.riskLevel ?? "-"),
    ]),
  );
}

/** "SCORE_BELOW_FLOOR (score 0.05, floor 0.05)". */
export function formatReason(reason: TransitionJson["reason"]): string {
  if (reason === undefined || reason === null) return "-";
  if (typeof reason !== "object") return String(reason);
  const numbers = Object.entries(reason.numbers ?? {}).map(([name, value]) => `${name} ${String(value)}`);
  return `${reason.code ?? "?"}${numbers.length > 0 ? ` (${numbers.join(", ")})` : ""}`;
}
