import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { syntheticEventStream, toInputEventJson } from "@clm/datasets";
import { intOption, parseCommandArgs } from "../args.ts";

export const usage = `clm generate [--events 100000] [--seed 42] [--per-customer 10] [--out FILE]
  A deterministic synthetic population as NDJSON in the JSON form ingest takes (same seed, same
  file): acquisition waves, purchase cadences per customer, logins and support tickets, churners
  and won-back customers. Writes to FILE or standard output; 'clm load FILE' sends it through the
  ingest API, the benchmarks write the same population to Kafka directly. Streams: 10M events
  (1.7 GB of NDJSON) take ~1.7 minutes and ~1.1 GB of memory at peak.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { events: { type: "string" }, seed: { type: "string" }, "per-customer": { type: "string" }, out: { type: "string" } },
    { min: 0, max: 0 },
  );
  const events = intOption("events", values.events, 100_000, { min: 1, max: 100_000_000 });
  const seed = intOption("seed", values.seed, 42, { min: 0, max: 2 ** 31 - 1 });
  const perCustomer = intOption("per-customer", values["per-customer"], 10, { min: 1, max: 10_000 });
  const out = values.out === undefined ? process.stdout : createWriteStream(values.out);
  // Chunks of lines, waiting for the stream to drain: millions of lines without holding them all as text.
  const customers = new Set<string>();
  let written = 0;
  let lines: string[] = [];
  const flush = async () => {
    if (lines.length > 0 && !out.write(lines.join("\n") + "\n")) await once(out, "drain");
    lines = [];
  };
  for (const event of syntheticEventStream({ seed, events, eventsPerCustomer: perCustomer })) {
    customers.add(event.customerId);
    lines.push(JSON.stringify(toInputEventJson(event)));
    written++;
    if (lines.length === 10_000) await flush();
  }
  await flush();
  if (out !== process.stdout) {
    out.end();
    await once(out, "finish");
    console.error(`wrote ${written.toLocaleString("en-US")} events of ${customers.size.toLocaleString("en-US")} customers (seed ${seed}) to ${values.out}`);
  }
  return 0;
}
