import type { IHeaders, Message } from "kafkajs";

/**
 * New audience definitions reach the stream as a control record on the input topic, designed like
 * a value-model activation (value-model-activation.ts): from this record on, the partition's
 * customers are placed in the audiences of the definitions version in this header (stored in
 * Redis: @clm/state-store, `<prefix>:{audiences}:versions`). Its value is null and it has no key;
 * one goes to every partition, in order with its events, so a rebuild applies the same
 * definitions at the same place.
 */
export const AUDIENCES_HEADER = "clm-audiences";

/** What a definitions version looks like: d-<sequence number>. */
const VERSION = /^d-\d{1,15}$/;

export function audiencesActivationMessage(version: string, partition: number): Message {
  if (!VERSION.test(version)) throw new RangeError(`${JSON.stringify(version)} is not an audience definitions version`);
  return { partition, key: null, value: null, headers: { [AUDIENCES_HEADER]: version } };
}

export type AudiencesActivation = { kind: "none" } | { kind: "activate"; version: string } | { kind: "invalid"; reason: string };

/** Whether a consumed record activates audience definitions (before any decoding), and a malformed one's reason. */
export function readAudiencesActivation(message: { headers?: IHeaders; value: Buffer | null }): AudiencesActivation {
  const header = message.headers?.[AUDIENCES_HEADER];
  if (header === undefined) return { kind: "none" };
  if (Array.isArray(header)) return { kind: "invalid", reason: `${AUDIENCES_HEADER} appears more than once` };
  const text = header.toString();
  if (!VERSION.test(text)) return { kind: "invalid", reason: `${AUDIENCES_HEADER} ${JSON.stringify(text.slice(0, 40))} is not an audience definitions version` };
  if (message.value !== null) return { kind: "invalid", reason: "an audience activation carries no value" };
  return { kind: "activate", version: text };
}
