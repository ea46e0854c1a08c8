import type { Logger } from "@clm/observability";
import { answerApi, apiRouteOf, type ApiDeps } from "./api.ts";

/**
 * The API requests each page makes on a load without parameters (the navigation's links), in the
 * order a viewer most likely opens them. The customer page has no default: it needs an id.
 */
export const DEFAULT_PAGE_REQUESTS = [
  "/api/range",
  "/api/retention?grain=month",
  "/api/ltv",
  "/api/stages",
  "/api/churn",
  "/api/activation",
  "/api/transitions",
  "/api/value",
  "/api/retention?grain=week",
] as const;

export interface WarmUp {
  /** Settles once the first warm-up has finished (or failed). */
  readonly first: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps every page's default answer ready: at start, and whenever the data version changes (read every
 * `intervalMs`), asks each default request once, one after the other, so the views' per-customer
 * aggregation runs here rather than while a viewer waits. The answers land in the ViewReader's cache
 * for that data version, which is exactly what a viewer's request at the same version reads; nothing
 * older is ever served. One request at a time keeps the load on ClickHouse at one query while data stream in.
 */
export function startWarmUp(deps: Pick<ApiDeps, "views"> & { logger: Logger; intervalMs: number }): WarmUp {
  const apiDeps: ApiDeps = {
    views: deps.views,
    customerApi: () => Promise.reject(new Error("the warm-up asks no customer")),
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  // A failed warm-up is tried again at the next tick even when the version has not changed.
  let due = true;
  let markFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => (markFirst = resolve));

  const warm = async (): Promise<void> => {
    const started = performance.now();
    for (const request of DEFAULT_PAGE_REQUESTS) {
      if (stopped) return;
      const url = new URL(request, "http://console.invalid");
      await answerApi(apiRouteOf(url.pathname)!, url, "", apiDeps);
    }
    deps.logger.info({ requests: DEFAULT_PAGE_REQUESTS.length, ms: Math.round(performance.now() - started) }, "console answers warmed");
  };

  const tick = async (): Promise<void> => {
    try {
      if ((await deps.views.refreshVersion()) || due) {
        due = true;
        await warm();
        due = false;
      }
    } catch (error) {
      deps.logger.warn({ err: error }, "warming the console's answers failed; trying again at the next check");
    } finally {
      markFirst();
      if (!stopped) timer = setTimeout(() => void (running = tick()), deps.intervalMs);
    }
  };

  running = tick();
  return {
    first,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
