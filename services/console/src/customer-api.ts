import { ConsoleError } from "./errors.ts";

/**
 * GET on ingest's customer API with the viewer's own Authorization (the console holds no key of its
 * own): the customer's state at the pipeline's time. null when ingest has no state for the customer.
 */
export function createCustomerApi(baseUrl: string): (path: string, authorization: string) => Promise<unknown> {
  const base = baseUrl.replace(/\/$/, "");
  return async (path, authorization) => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new ConsoleError("UPSTREAM_UNAVAILABLE", `the customer API (${base}) did not answer: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) throw new ConsoleError("UPSTREAM_UNAVAILABLE", `the customer API answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return response.json();
  };
}
