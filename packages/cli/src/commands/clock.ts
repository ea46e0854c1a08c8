import { instantOption, parseCommandArgs, UsageError } from "../args.ts";
import { apiKey, commandConfig, commandEnv, ingestUrl } from "../context.ts";

export const usage = `clm clock advance --to YYYY-MM-DD|ISO [--api-key KEY] [--url URL]
  Advances the event-time clock of a replay (CLOCK_MODE=event) to the instant: ingest writes one
  control record to every partition of the input topic (POST /v1/clock/advance), and the processor,
  reaching it in order with each partition's events, moves the watermark there and fires every
  deadline up to it — the stage changes reach Redis, the stage-change topic and ClickHouse like any
  other ('clm wait' waits for them). Refused when the pipeline runs on the wall clock or the instant
  is in the future. The API key (an admin key) is --api-key, else CLM_ADMIN_API_KEY, else
  CLM_API_KEY, else the development key.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { to: { type: "string" }, "api-key": { type: "string" }, url: { type: "string" } }, { min: 1, max: 1 });
  if (positionals[0] !== "advance") throw new UsageError(`unknown subcommand ${JSON.stringify(positionals[0])}; expected advance`);
  const to = instantOption("to", values.to);
  if (to === undefined) throw new UsageError("--to is required");
  const env = commandEnv();
  const url = `${(values.url ?? ingestUrl(commandConfig(env))).replace(/\/$/, "")}/v1/clock/advance`;
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey("admin", values["api-key"], env)}`, "content-type": "application/json" },
    body: JSON.stringify({ to }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: { to?: string; partitions?: number; error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: shown as text below
  }
  if (response.status !== 202) {
    console.error(`clm clock: ${url} answered ${response.status}: ${body.error ? `${body.error.code ?? ""} ${body.error.message ?? ""}`.trim() : text.slice(0, 200)}`);
    return 1;
  }
  console.log(`event clock advance to ${body.to} written to all ${body.partitions} partitions of the input topic; the processor applies it after each partition's earlier events ('clm wait' waits for it)`);
  return 0;
}
