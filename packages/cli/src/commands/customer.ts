import { instantOption, intOption, parseCommandArgs } from "../args.ts";
import { apiKey, commandConfig, commandEnv, ingestUrl } from "../context.ts";
import { formatAsOf, formatCustomerView, formatTransitions, type TransitionJson } from "../customer-text.ts";

export const usage = `clm customer <id> [--as-of YYYY-MM-DD|ISO] [--json] [--limit 20] [--api-key KEY] [--url URL]
  One customer's lifecycle state and recent stage changes, from the ingest service's customer API
  (GET /v1/customers/<id> and /v1/customers/<id>/transitions). Every figure is read at one instant,
  printed first: the pipeline's time (the wall clock, or on the event clock the partition's
  watermark), or --as-of, which may not be earlier than the state is evaluated through.
  The API key (a read key) is --api-key, else CLM_READ_API_KEY, else CLM_API_KEY, else the
  development key.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { json: { type: "boolean", default: false }, limit: { type: "string" }, "as-of": { type: "string" }, "api-key": { type: "string" }, url: { type: "string" } },
    { min: 1, max: 1 },
  );
  const customerId = positionals[0]!;
  const limit = intOption("limit", values.limit, 20, { min: 1, max: 100 });
  const asOf = instantOption("as-of", values["as-of"]);
  const env = commandEnv();
  const base = `${(values.url ?? ingestUrl(commandConfig(env))).replace(/\/$/, "")}/v1/customers/${encodeURIComponent(customerId)}`;
  // The customer API needs a read key (services/ingest/src/auth.ts).
  const headers = { authorization: `Bearer ${apiKey("read", values["api-key"], env)}` };

  const viewUrl = asOf === undefined ? base : `${base}?asOf=${encodeURIComponent(asOf)}`;
  const [view, history] = await Promise.all([getJson(viewUrl, headers), getJson(`${base}/transitions?limit=${limit}`, headers)]);
  if (view.status === 404) {
    console.error(`clm customer: no customer ${JSON.stringify(customerId)} (the processor has no state for it)`);
    return 1;
  }
  for (const answer of [view, history]) {
    if (answer.status !== 200) {
      console.error(`clm customer: ${answer.url} answered ${answer.status}: ${errorText(answer.body)}`);
      return 1;
    }
  }
  const transitions = ((history.body as { transitions?: TransitionJson[] }).transitions ?? []) as TransitionJson[];
  if (values.json) {
    console.log(JSON.stringify({ customer: view.body, transitions }));
    return 0;
  }
  console.log(formatAsOf(view.body as Record<string, unknown>));
  console.log(formatCustomerView(view.body as Record<string, unknown>));
  console.log("");
  console.log(`stage changes (latest ${limit}):`);
  console.log(formatTransitions(transitions));
  return 0;
}

async function getJson(url: string, headers: Record<string, string>): Promise<{ url: string; status: number; body: unknown }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return { url: url.replace(/\?.*$/, ""), status: response.status, body };
}

function errorText(body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return error ? `${error.code ?? ""} ${error.message ?? ""}`.trim() : String(body).slice(0, 200);
}
