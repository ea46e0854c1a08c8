import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { syntheticEvents, toInputEventJson } from "@clm/datasets";
import { intOption, parseCommandArgs } from "../args.ts";

export const usage = `clm generate [--events 100000] [--seed 42] [--per-customer 10] [--out FILE]
  A deterministic synthetic population as NDJSON in the JSON form ingest takes (same seed, same
  file): acquisition waves, purchase cadences per customer, logins and support tickets, churners
  and won-back customers. Writes to FILE or standard output; 'clm load FILE' sends it through the
  ingest API, the benchmarks write the same population to Kafka directly. 10M events need about
  4 GB of heap: NODE_OPTIONS=--max-old-space-size=8192.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { events: { type: "string" }, seed: { type: "string" }, "per-customer": { type: "string" }, out: { type: "string" } },
    { min: 0, max: 0 },
  );
  const events = intOption("events", values.events, 100_000, { min: 1, max: 100_000_000 });
  const seed = intOption("seed", values.seed, 42, { min: 0, max: 2 ** 31 - 1 });
  const perCustomer = intOption("per-customer", values["per-customer"], 10, { min: 1, max: 10_000 });
  const population = syntheticEvents({ seed, events, eventsPerCustomer: perCustomer });
  const out = values.out === undefined ? process.stdout : createWriteStream(values.out);
  // Chunks of lines, waiting for the stream to drain: millions of lines without holding them all as text.
  for (let start = 0; start < population.length; start += 10_000) {
    const text = population.slice(start, start + 10_000).map((event) => JSON.stringify(toInputEventJson(event))).join("\n") + "\n";
    if (!out.write(text)) await once(out, "drain");
  }
  if (out !== process.stdout) {
    out.end();
    await once(out, "finish");
    const customers = new Set(population.map((event) => event.customerId)).size;
    console.error(`wrote ${population.length.toLocaleString("en-US")} events of ${customers.toLocaleString("en-US")} customers (seed ${seed}) to ${values.out}`);
  }
  return 0;
}
