import type { IHeaders, Message } from "kafkajs";

/**
 * A value-model activation is a control record on the input topic, designed like a clock advance
 * (clock-advance.ts): from this record on, the partition's customers are valued with the model
 * version in this header (stored in Redis: @clm/state-store, `<prefix>:value-model:versions`).
 * Its value is null and it has no key, so Confluent/Avro consumers see a record without a value and
 * never an event; one goes to every partition, in order with that partition's events, so a
 * rebuild activates the same model at the same place.
 */
export const VALUE_MODEL_HEADER = "clm-value-model";

/** What a model version looks like: m-<calibration end>-<8 hex> (packages/value-model). */
const VERSION = /^m-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/;

export function valueModelActivationMessage(version: string, partition: number): Message {
  if (!VERSION.test(version)) throw new RangeError(`${JSON.stringify(version)} is not a value-model version`);
  return { partition, key: null, value: null, headers: { [VALUE_MODEL_HEADER]: version } };
}

export type ValueModelActivation = { kind: "none" } | { kind: "activate"; version: string } | { kind: "invalid"; reason: string };

/** Whether a consumed record activates a value model (before any decoding), and a malformed one's reason. */
export function readValueModelActivation(message: { headers?: IHeaders; value: Buffer | null }): ValueModelActivation {
  const header = message.headers?.[VALUE_MODEL_HEADER];
  if (header === undefined) return { kind: "none" };
  if (Array.isArray(header)) return { kind: "invalid", reason: `${VALUE_MODEL_HEADER} appears more than once` };
  const text = header.toString();
  if (!VERSION.test(text)) return { kind: "invalid", reason: `${VALUE_MODEL_HEADER} ${JSON.stringify(text.slice(0, 40))} is not a value-model version` };
  if (message.value !== null) return { kind: "invalid", reason: "a value-model activation carries no value" };
  return { kind: "activate", version: text };
}
