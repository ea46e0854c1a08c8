import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "@clm/observability";
import { Gauge, type Registry } from "prom-client";

/**
 * The project's fixes to kafkajs 2.2.4 (its last release) live in patches/kafkajs+2.2.4.patch,
 * applied by patch-package at install (docs/kafka-client.md). An install that skips scripts
 * (`npm ci --ignore-scripts`) leaves kafkajs unpatched: slower in the processor's hot paths, and its
 * producer can drop a send's records for a partition whose leader moves during the send. Each fix leaves a marker comment in the code it changes; the check below reads the
 * running kafkajs's files for the markers, and for the original text the fix replaces.
 */
export const KAFKAJS_PATCHED_VERSION = "2.2.4";
export const KAFKAJS_PATCH_FILE = `patches/kafkajs+${KAFKAJS_PATCHED_VERSION}.patch`;
export const KAFKAJS_PATCHED_GAUGE = "clm_kafkajs_patched";

export interface KafkajsFix {
  /** The name in the fix's marker comment, `/* clm-kafkajs-fix:NAME *\/`. */
  name: string;
  /** Path inside the kafkajs package. */
  file: string;
  /** How many markers the fix leaves in the file. */
  markers: number;
  /** Text of the original code that the fix replaces; absent once it is applied. */
  originalText: string;
}

export const KAFKAJS_FIXES: readonly KafkajsFix[] = [
  { name: "group-per-partition", file: "src/producer/groupMessagesPerPartition.js", markers: 1, originalText: "[...current, message]" },
  { name: "encoder-alloc-unsafe", file: "src/protocol/encoder.js", markers: 2, originalText: "Buffer.alloc(" },
  { name: "record-offsets-as-numbers", file: "src/protocol/recordBatch/record/v0/decoder.js", markers: 2, originalText: "Long.fromValue(firstOffset)" },
  { name: "batch-offsets-as-numbers", file: "src/consumer/batch.js", markers: 1, originalText: "this.rawMessages.filter(message =>\n" },
  { name: "resend-per-partition", file: "src/producer/sendMessages.js", markers: 1, originalText: "brokersWithoutResponse" },
];

export const kafkajsFixMarker = (name: string): string => `/* clm-kafkajs-fix:${name} */`;

export interface KafkajsPatchStatus {
  /** The kafkajs package directory that was read. */
  dir: string;
  version: string | null;
  patched: boolean;
  /** Every fix that is not in place, with what was found instead. */
  missing: { name: string; file: string; problem: string }[];
}

/** The directory of the kafkajs that this package's `import "kafkajs"` loads. */
export function installedKafkajsDir(): string {
  return dirname(createRequire(import.meta.url).resolve("kafkajs/package.json"));
}

const countOf = (text: string, part: string) => text.split(part).length - 1;

/** Whether the kafkajs in `dir` is the version the patch is for, with every fix in place. */
export function kafkajsPatchStatus(dir: string = installedKafkajsDir()): KafkajsPatchStatus {
  const missing: KafkajsPatchStatus["missing"] = [];
  let version: string | null = null;
  try {
    version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string }).version ?? null;
  } catch (error) {
    missing.push({ name: "package", file: "package.json", problem: `unreadable: ${(error as Error).message}` });
  }
  if (version !== null && version !== KAFKAJS_PATCHED_VERSION) {
    missing.push({ name: "package", file: "package.json", problem: `kafkajs ${version}, the patch is for ${KAFKAJS_PATCHED_VERSION}` });
  }
  for (const fix of KAFKAJS_FIXES) {
    let text: string;
    try {
      text = readFileSync(join(dir, fix.file), "utf8");
    } catch (error) {
      missing.push({ name: fix.name, file: fix.file, problem: `unreadable: ${(error as Error).message}` });
      continue;
    }
    const markers = countOf(text, kafkajsFixMarker(fix.name));
    if (markers !== fix.markers) missing.push({ name: fix.name, file: fix.file, problem: `${markers} of ${fix.markers} markers` });
    else if (text.includes(fix.originalText)) missing.push({ name: fix.name, file: fix.file, problem: "the original code is still there" });
  }
  return { dir, version, patched: missing.length === 0, missing };
}

/**
 * The start-up check every service runs where it creates its Kafka client: sets the
 * `clm_kafkajs_patched` gauge (1 patched, 0 not) on the service's registry, and logs an error
 * naming each missing fix when kafkajs is unpatched. The service runs on either way.
 */
export function reportKafkajsPatchStatus(options: { logger: Logger; registry: Registry; dir?: string }): KafkajsPatchStatus {
  const status = kafkajsPatchStatus(options.dir);
  const gauge =
    (options.registry.getSingleMetric(KAFKAJS_PATCHED_GAUGE) as Gauge | undefined) ??
    new Gauge({
      name: KAFKAJS_PATCHED_GAUGE,
      help: `1 when the running kafkajs carries every fix of ${KAFKAJS_PATCH_FILE}, 0 when not (docs/kafka-client.md)`,
      registers: [options.registry],
    });
  gauge.set(status.patched ? 1 : 0);
  if (status.patched) {
    options.logger.debug({ kafkajs: status.dir, version: status.version }, "kafkajs patched");
  } else {
    options.logger.error(
      { kafkajs: status.dir, version: status.version, missing: status.missing },
      `kafkajs is not patched (${KAFKAJS_PATCH_FILE}): slower, and a send can lose records when a partition's leader moves; reinstall with scripts enabled (npm ci), or run npm run postinstall`,
    );
  }
  return status;
}
