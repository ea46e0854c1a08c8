import { readFile } from "node:fs/promises";
import { IngestClient, IngestRequestError } from "@clm/client";
import { choiceOption, intOption, parseCommandArgs, UsageError } from "../args.ts";
import { sendConcurrently } from "../concurrent-send.ts";
import { apiKey, commandConfig, commandEnv, ingestUrl } from "../context.ts";
import { formatFromPath, parseEventFile } from "../event-files.ts";
import { ProgressReporter, rate } from "../progress.ts";
import { formatCount } from "../table.ts";

export const usage = `clm load <file> [--format cdnow|ndjson] [--batch 500] [--concurrency 4] [--api-key KEY] [--url URL]
  Sends a file of events through the ingest API (http://127.0.0.1:INGEST_PORT). cdnow: the CDNOW
  purchase log (data/cdnow), sent in time order; ndjson: one input event JSON per line, in file order.
  The format defaults from the extension (.txt cdnow, .ndjson/.jsonl ndjson). The API key (a write
  key) is --api-key, else CLM_API_KEY, else the development key. Exit 1 if any event was rejected.`;

const SHOWN_REJECTIONS = 5;

export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      format: { type: "string" },
      batch: { type: "string" },
      concurrency: { type: "string" },
      "api-key": { type: "string" },
      url: { type: "string" },
    },
    { min: 1, max: 1 },
  );
  const path = positionals[0]!;
  const inferred = formatFromPath(path);
  if (values.format === undefined && inferred === null) throw new UsageError(`cannot tell the format of ${path} from its name: pass --format cdnow or --format ndjson`);
  const format = choiceOption("format", values.format, ["cdnow", "ndjson"], inferred ?? "ndjson");
  const batch = intOption("batch", values.batch, 500, { min: 1, max: 100_000 });
  const concurrency = intOption("concurrency", values.concurrency, 4, { min: 1, max: 64 });
  const env = commandEnv();
  const config = commandConfig(env);
  const baseUrl = values.url ?? ingestUrl(config);

  const { events, problems } = parseEventFile(await readFile(path, "utf8"), format);
  if (problems.length > 0) {
    // A file that does not parse is refused whole: sending the rest would load a silently partial data set.
    console.error(`clm load: ${path}: ${problems.length} line(s) could not be read as ${format}; nothing sent`);
    for (const problem of problems.slice(0, SHOWN_REJECTIONS)) console.error(`  line ${problem.line}: ${problem.message}`);
    return 1;
  }
  console.error(`sending ${formatCount(events.length)} events from ${path} (${format}) to ${baseUrl}, batches of ${batch}, ${concurrency} in flight`);

  const client = new IngestClient({ baseUrl, apiKey: apiKey("write", values["api-key"], env), batchSize: batch });
  const progress = new ProgressReporter(events.length);
  let result;
  try {
    result = await sendConcurrently(events, { batch, concurrency, send: (slice) => client.send(slice), onProgress: (sent) => progress.update(sent) });
  } catch (error) {
    progress.finish();
    if (error instanceof IngestRequestError) console.error(`clm load: the ingest API refused the request: ${error.message}`);
    else console.error(`clm load: ${(error as Error).message}`);
    return 1;
  }
  const state = progress.finish();

  const rejected = result.rejected.length;
  console.log(
    `accepted ${formatCount(result.accepted)}, rejected ${formatCount(rejected)}; ` +
      `${formatCount(Math.round(rate({ ...state, done: result.accepted + rejected })))} events/s, ${(state.elapsedMs / 1000).toFixed(1)} s ` +
      `(${formatCount(result.requests)} requests, ${formatCount(result.retries)} retries)`,
  );
  if (rejected === 0) return 0;
  for (const rejection of result.rejected.slice(0, SHOWN_REJECTIONS)) {
    const errors = rejection.errors.map((error) => `${error.path}: ${error.message}`).join("; ");
    console.error(`  event #${rejection.index}${rejection.eventId ? ` (${rejection.eventId})` : ""}: ${errors}`);
  }
  if (rejected > SHOWN_REJECTIONS) console.error(`  … and ${formatCount(rejected - SHOWN_REJECTIONS)} more`);
  return 1;
}
