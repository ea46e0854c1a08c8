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
  // The data version the answers were last warmed at: a viewer's request may notice a new version
  // first, and a failed warm-up leaves this behind, so either way the next tick warms again.
  let warmedAt: string | null = null;
  let markFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => (markFirst = resolve));

  const warm = async (): Promise<void> => {
    const started = performance.now();
    // Answers asked here are kept for the version current when each is asked; a version change during the warm-up is warmed again at the next tick.
    // Each request's time is what a viewer would have waited for it unwarmed (an answer an earlier request already read counts 0).
    const requestMs: Record<string, number> = {};
    for (const request of DEFAULT_PAGE_REQUESTS) {
      if (stopped) return;
      const url = new URL(request, "http://console.invalid");
      const at = performance.now();
      await answerApi(apiRouteOf(url.pathname)!, url, "", apiDeps);
      requestMs[request] = Math.round(performance.now() - at);
    }
    deps.logger.info({ ms: Math.round(performance.now() - started), requestMs }, "console answers warmed");
  };

  const tick = async (): Promise<void> => {
    try {
      const version = await deps.views.refreshVersion();
      if (version !== warmedAt) {
        await warm();
        warmedAt = version;
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
