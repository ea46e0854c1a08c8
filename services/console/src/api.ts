import { ConsoleError } from "./errors.ts";
import { customerIdParam, grainOf, intParam, rangeOf, type DateRange } from "./params.ts";
import type { DataRanges, ViewReader } from "./views.ts";

/** What the JSON API reads: the views, and the customer API of ingest (with the viewer's own key). */
export interface ApiDeps {
  views: ViewReader;
  /** GET a path of the customer API with this Authorization; null on 404. */
  customerApi: (path: string, authorization: string) => Promise<unknown>;
}

export type ApiRoute = "range" | "retention" | "ltv" | "stages" | "transitions" | "churn" | "activation" | "value" | "customer";

const API = /^\/api\/(range|retention|ltv|stages|transitions|churn|activation|value)$/;
const CUSTOMER = /^\/api\/customers\/([^/]+)$/;

export function apiRouteOf(pathname: string): ApiRoute | null {
  const match = API.exec(pathname);
  if (match !== null) return match[1] as ApiRoute;
  return CUSTOMER.test(pathname) ? "customer" : null;
}

/**
 * Answers one API request. Each answer names the range it covers, so the page shows exactly that; with
 * no range asked, the latest periods of the data (params.ts, rangeOf). `ranges` is read once per request
 * only where a default range is needed.
 */
export async function answerApi(route: ApiRoute, url: URL, authorization: string, deps: ApiDeps): Promise<unknown> {
  const params = url.searchParams;
  const ranges = async (): Promise<DataRanges> => deps.views.ranges();
  const monthRange = async (of: keyof DataRanges): Promise<DateRange | null> => rangeOf(params, "month", params.has("from") && params.has("to") ? null : (await ranges())[of]);
  switch (route) {
    case "range":
      return deps.views.ranges();
    case "retention": {
      const grain = grainOf(params);
      const range = rangeOf(params, grain, params.has("from") && params.has("to") ? null : (await ranges())[grain]);
      return { grain, range, cells: range === null ? [] : await deps.views.retention(grain, range) };
    }
    case "ltv": {
      const range = await monthRange("month");
      return { range, points: range === null ? [] : await deps.views.ltv(range) };
    }
    case "stages": {
      const range = await monthRange("stages");
      return { range, counts: range === null ? [] : await deps.views.stageDistribution(range) };
    }
    case "transitions": {
      const range = await monthRange("stages");
      return { range, counts: range === null ? [] : await deps.views.transitions(range) };
    }
    case "churn": {
      const range = await monthRange("stages");
      return { range, months: range === null ? [] : await deps.views.churn(range) };
    }
    case "activation": {
      const range = await monthRange("month");
      return { range, cohorts: range === null ? [] : await deps.views.activation(range) };
    }
    case "value": {
      // The current model is the latest fit; its cohorts are read for it alone, so one answer never mixes two models.
      const range = await monthRange("tiers");
      const [models, shares, tiers] = await Promise.all([deps.views.valueModels(), range === null ? [] : deps.views.tierShares(range), deps.views.tiersNow()]);
      const model = models[0] ?? null;
      return { range, model, models, shares, tiers, cohorts: model === null ? [] : await deps.views.valueCohorts(model.model_version) };
    }
    case "customer": {
      const encoded = CUSTOMER.exec(url.pathname)![1]!;
      let decoded: string;
      try {
        decoded = decodeURIComponent(encoded);
      } catch {
        throw new ConsoleError("INVALID_PATH", `customer id ${encoded} is not percent-encoded UTF-8`);
      }
      const customerId = customerIdParam(decoded);
      const limit = intParam(params, "events", 50, 1, 200);
      const path = `/v1/customers/${encodeURIComponent(customerId)}`;
      const [state, transitions, events] = await Promise.all([deps.customerApi(path, authorization), deps.views.customerTransitions(customerId, 200), deps.views.customerEvents(customerId, limit)]);
      if (state === null && transitions.length === 0 && events.length === 0) throw new ConsoleError("NOT_FOUND", `no customer ${JSON.stringify(customerId)}`);
      return { customerId, state, transitions, events };
    }
  }
}
