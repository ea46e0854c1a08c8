import avro from "avsc";

/**
 * Avro `decimal` (bytes, scale 4) ↔ the core's E4 integer units. The bytes are the
 * unscaled value in big-endian two's complement, as the Avro spec says, so any
 * Avro reader (Java, Python, ClickHouse) reads the same exact decimal.
 */
export class DecimalE4Type extends avro.types.LogicalType {
  constructor(schema: avro.Schema, options?: object) {
    super(schema, options);
    const scale = (schema as { scale?: number }).scale ?? 0;
    if (scale !== 4) throw new Error(`decimal logical type: the pipeline reads scale 4 only, got ${scale}`);
  }

  protected override _fromValue(value: Buffer): number {
    if (value.length === 0) return 0;
    if (value.length <= 6) return value.readIntBE(0, value.length); // every single amount fits: no BigInt on the hot path
    const unscaled = BigInt.asIntN(value.length * 8, BigInt(`0x${value.toString("hex")}`));
    if (unscaled > BigInt(Number.MAX_SAFE_INTEGER) || unscaled < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError("decimal value exceeds the exact integer range of the pipeline");
    }
    return Number(unscaled);
  }

  protected override _toValue(valueE4: unknown): Buffer | undefined {
    if (typeof valueE4 !== "number" || !Number.isSafeInteger(valueE4)) return undefined;
    return toTwosComplement(valueE4);
  }

  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (type instanceof DecimalE4Type) return (value) => value;
    return undefined;
  }

  protected override _export(schema: avro.Schema): void {
    Object.assign(schema, { precision: 18, scale: 4 });
  }
}

/** Minimal big-endian two's-complement bytes of a signed integer. */
export function toTwosComplement(number: number): Buffer {
  if (number >= -(2 ** 47) && number < 2 ** 47) {
    let bytes = 1;
    while (number < -(2 ** (bytes * 8 - 1)) || number >= 2 ** (bytes * 8 - 1)) bytes++;
    const out = Buffer.allocUnsafe(bytes);
    out.writeIntBE(number, 0, bytes);
    return out;
  }
  const value = BigInt(number);
  let bytes = 1;
  while (value < -(1n << BigInt(bytes * 8 - 1)) || value >= 1n << BigInt(bytes * 8 - 1)) bytes++;
  const unsigned = BigInt.asUintN(bytes * 8, value);
  return Buffer.from(unsigned.toString(16).padStart(bytes * 2, "0"), "hex");
}
