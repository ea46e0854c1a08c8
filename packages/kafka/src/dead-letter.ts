import type { Message } from "kafkajs";

/**
 * A record that could not be processed, with the reason. The value is JSON, not
 * Avro, so it can always be written and read — the original bytes travel base64.
 */
export interface DeadLetter {
  /** Stable machine code, e.g. NOT_CONFLUENT_AVRO, AVRO_INVALID, INVALID_EVENT, CURRENCY. */
  code: string;
  reason: string;
  service: string;
  source: { topic: string; partition: number; offset: string; key: string | null };
  /** Field problems when the record decoded but its values are invalid. */
  errors?: { path: string; message: string; code?: string }[];
  valueBase64: string | null;
  deadLetteredAt: string;
}

export function deadLetterMessage(letter: Omit<DeadLetter, "deadLetteredAt">, at: Date): Message {
  const value: DeadLetter = { ...letter, deadLetteredAt: at.toISOString() };
  return {
    key: letter.source.key,
    value: JSON.stringify(value),
    headers: { "clm-dead-letter-code": letter.code, "content-type": "application/json" },
  };
}
