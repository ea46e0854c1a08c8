import { formatAmount, formatCount, formatMoney, formatRatio } from "../../src/format.ts";
import { ApiError, getJson } from "../api.ts";
import { card, dataTable, dateText, el } from "../dom.ts";

/** The customer API's answer (ingest, CustomerView of @clm/core); the value fields are null while no value model applies to the customer. */
interface CustomerState {
  customerId: string;
  asOf: string;
  asOfClock: string;
  stage: string;
  stageSince: string;
  tenurePhase: string | null;
  firstPurchaseAt: string | null;
  lastPurchaseAt: string | null;
  lastEventAt: string;
  purchaseCount: number;
  purchaseDays: number;
  monetaryTotal: string;
  logins: number;
  support: { opened: number; resolved: number; escalated: number; lastSatisfaction: number | null };
  interactionScore: number;
  meanPurchaseGapDays: number | null;
  churnRisk: string;
  thresholds: { basis: string; warnAfterDays: number; churnAfterDays: number } | null;
  rfm: { recency: number; frequency: number; monetary: number; cell: string; segment: string } | null;
  nextDeadline: string | null;
  version: number;
  valueTier: string | null;
  valueTierSince: string | null;
  valueModelVersion: string | null;
  pAlive: number | null;
  expectedPurchases: number | null;
  expectedSpend: number | null;
  predictedClv: number | null;
}

interface CustomerAnswer {
  customerId: string;
  state: CustomerState | null;
  transitions: { version_text: string; from_name: string | null; to_name: string; reason: string; at_ms: string; trigger_name: string; risk: string; segment: string }[];
  events: { event_id: string; type: string; at_ms: string; amount_text: string; order_ref: string; detail: string }[];
}

const iso = (text: string | null) => (text === null ? "—" : dateText(Date.parse(text)));

function facts(name: string, entries: [field: string, label: string, value: string][]): HTMLElement {
  return el("dl", { class: "facts", "data-facts": name }, ...entries.map(([field, label, value]) => el("div", {}, el("dt", {}, label), el("dd", { "data-field": field }, value))));
}

/** One customer: search by id; state, RFM, risk, predictions when the API has them, stage timeline, recent events. */
export async function renderCustomer(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const id = params.get("id") ?? "";
  main.append(
    el("h1", {}, "Customer"),
    el("form", { class: "controls", method: "get", action: "/customers", role: "search" }, el("label", {}, "Customer id", el("input", { name: "id", id: "customer-id", value: id, required: "", maxlength: "128" })), el("button", { type: "submit" }, "Find")),
  );
  if (id === "") {
    main.append(el("p", { class: "muted" }, "Enter a customer id."));
    return;
  }
  let answer: CustomerAnswer;
  try {
    answer = await getJson<CustomerAnswer>(`/api/customers/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
      main.append(el("p", { class: "muted", "data-outcome": "not-found" }, error.status === 404 ? `No customer ${JSON.stringify(id)}.` : error.message));
      return;
    }
    throw error;
  }
  const state = answer.state;
  if (state === null) main.append(card("State", el("p", { class: "muted" }, "The processor holds no state for this customer (only the ClickHouse history below).")));
  else {
    main.append(
      card(
        `State at ${iso(state.asOf)} (${state.asOfClock.replace("_", " ")})`,
        facts("state", [
          ["stage", "stage", state.stage],
          ["stageSince", "since", iso(state.stageSince)],
          ["tenurePhase", "tenure phase", state.tenurePhase ?? "—"],
          ["purchaseCount", "purchases", formatCount(state.purchaseCount)],
          ["purchaseDays", "purchase days", formatCount(state.purchaseDays)],
          ["monetaryTotal", "monetary total", formatMoney(state.monetaryTotal)],
          ["firstPurchaseAt", "first purchase", iso(state.firstPurchaseAt)],
          ["lastPurchaseAt", "last purchase", iso(state.lastPurchaseAt)],
          ["logins", "logins", formatCount(state.logins)],
          ["support", "support tickets (opened / resolved / escalated)", `${state.support.opened} / ${state.support.resolved} / ${state.support.escalated}`],
        ]),
      ),
      el(
        "div",
        { class: "grid2" },
        card(
          "RFM",
          state.rfm === null
            ? el("p", { class: "muted" }, "No RFM scores yet (no population boundaries, or no purchase).")
            : facts("rfm", [
                ["rfm.recency", "recency score", String(state.rfm.recency)],
                ["rfm.frequency", "frequency score", String(state.rfm.frequency)],
                ["rfm.monetary", "monetary score", String(state.rfm.monetary)],
                ["rfm.cell", "RFM cell", state.rfm.cell],
                ["rfm.segment", "segment", state.rfm.segment],
              ]),
        ),
        card(
          "Risk",
          facts("risk", [
            ["churnRisk", "churn risk", state.churnRisk],
            ["thresholds.warnAfterDays", "warn after (days without purchase)", state.thresholds === null ? "—" : String(state.thresholds.warnAfterDays)],
            ["thresholds.churnAfterDays", "churned after (days)", state.thresholds === null ? "—" : String(state.thresholds.churnAfterDays)],
            ["thresholds.basis", "threshold basis", state.thresholds?.basis ?? "—"],
            ["meanPurchaseGapDays", "mean purchase gap (days)", state.meanPurchaseGapDays === null ? "—" : state.meanPurchaseGapDays.toFixed(1)],
            ["interactionScore", "interaction score", state.interactionScore.toFixed(2)],
            ["nextDeadline", "next deadline", iso(state.nextDeadline)],
          ]),
        ),
      ),
    );
    const figure = (value: number | null, text: (value: number) => string) => (value === null ? "—" : text(value));
    main.append(
      card(
        "Predictions and value",
        state.valueModelVersion === null
          ? el("p", { class: "muted", "data-outcome": "no-value-model" }, "No value model applies to this customer yet (none fitted and activated, or no purchase).")
          : facts("predictions", [
              ["valueTier", "value tier", state.valueTier ?? "—"],
              ["valueTierSince", "tier since", iso(state.valueTierSince)],
              ["pAlive", "probability alive", figure(state.pAlive, formatRatio)],
              ["expectedPurchases", "expected purchase days (horizon of the model)", figure(state.expectedPurchases, (value) => value.toFixed(3))],
              ["expectedSpend", "expected spend per purchase day", figure(state.expectedSpend, formatAmount)],
              ["predictedClv", "predicted CLV", figure(state.predictedClv, formatAmount)],
              ["valueModelVersion", "model version", state.valueModelVersion],
            ]),
      ),
    );
  }

  main.append(
    el(
      "div",
      { class: "grid2" },
      card(
        "Stage timeline",
        answer.transitions.length === 0
          ? el("p", { class: "muted" }, "No stage changes in ClickHouse yet.")
          : el(
              "ol",
              { class: "timeline", "data-list": "timeline", reversed: "" },
              ...answer.transitions.map((transition) =>
                el("li", { "data-version": transition.version_text }, el("span", { class: "stage" }, transition.to_name), ` ${dateText(transition.at_ms)} — from ${transition.from_name ?? "(first stage)"}, ${transition.reason} (${transition.trigger_name}; risk ${transition.risk}${transition.segment ? `; ${transition.segment}` : ""})`),
              ),
            ),
      ),
      card(
        "Recent events",
        dataTable(
          "events",
          answer.events,
          (event) => event.event_id,
          [
            { label: "when", text: (event) => dateText(event.at_ms), isLabel: true },
            { label: "type", text: (event) => event.type, isLabel: true },
            { label: "amount", text: (event) => (event.type === "purchase" ? formatMoney(event.amount_text) : ""), metric: "amount", value: (event) => event.amount_text },
            { label: "order / detail", text: (event) => event.order_ref || event.detail, isLabel: true },
            { label: "event id", text: (event) => event.event_id, isLabel: true },
          ],
          true,
        ),
      ),
    ),
  );
}
