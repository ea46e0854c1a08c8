/**
 * Compares Kafka offsets given as canonical decimal strings (kafkajs's form: no sign, no leading
 * zeros) without a BigInt per record. Anything else is a programming error and throws.
 */
export function compareOffsets(left: string, right: string): number {
  if (!CANONICAL.test(left) || !CANONICAL.test(right)) throw new RangeError(`not canonical offsets: ${left}, ${right}`);
  if (left.length !== right.length) return left.length - right.length;
  return left < right ? -1 : left > right ? 1 : 0;
}

const CANONICAL = /^(0|[1-9][0-9]*)$/;
