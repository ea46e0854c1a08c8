/**
 * A 53-bit fingerprint of an event id, so a customer's recent ids fit in a few
 * bytes each. Two 32-bit multiply-xorshift lanes, mixed at the end, give a value
 * that is a safe JavaScript integer. Within one customer's dedupe window of k ids
 * the chance that a new id collides with a kept one is about k / 2^53.
 */
export function fingerprint53(text: string): number {
  let lane1 = 0xdeadbeef ^ text.length;
  let lane2 = 0x41c6ce57 ^ text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    lane1 = Math.imul(lane1 ^ code, 0x9e3779b1);
    lane2 = Math.imul(lane2 ^ code, 0x5bd1e995);
  }
  lane1 = Math.imul(lane1 ^ (lane1 >>> 16), 0x85ebca6b) ^ Math.imul(lane2 ^ (lane2 >>> 13), 0xc2b2ae35);
  lane2 = Math.imul(lane2 ^ (lane2 >>> 16), 0x85ebca6b) ^ Math.imul(lane1 ^ (lane1 >>> 13), 0xc2b2ae35);
  return 4_294_967_296 * (0x1fffff & lane2) + (lane1 >>> 0);
}

/** Bits of an event id kept in a customer's dedupe window (FORMAT v2 of the state codec stores 5 bytes). */
export const DEDUPE_FINGERPRINT_BITS = 40;

/**
 * The dedupe window's fingerprint: the low 40 bits of fingerprint53. Taking low bits of the same
 * hash means a window stored with 53-bit fingerprints (state format v1) reduces to exactly the
 * fingerprints new events get. With a window of N ids, a new id is mistaken for a kept one with
 * probability about N / 2^40 (8 ids: 7·10⁻¹²; about one event in 137 billion).
 */
export function dedupeFingerprint(eventId: string): number {
  return fingerprint53(eventId) % 2 ** DEDUPE_FINGERPRINT_BITS;
}
