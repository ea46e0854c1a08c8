import avro from "avsc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecimalE4Type, toTwosComplement } from "./decimal.ts";

const reference = (value: number): string => {
  // Minimal two's complement via BigInt, the slow obvious way.
  let bytes = 1;
  const big = BigInt(value);
  while (big < -(1n << BigInt(bytes * 8 - 1)) || big >= 1n << BigInt(bytes * 8 - 1)) bytes++;
  return BigInt.asUintN(bytes * 8, big).toString(16).padStart(bytes * 2, "0");
};

describe("decimal logical type (scale 4)", () => {
  const type = avro.Type.forSchema({ type: "bytes", logicalType: "decimal", precision: 18, scale: 4 } as avro.Schema, { logicalTypes: { decimal: DecimalE4Type } });

  it("writes minimal big-endian two's complement and reads it back, for every safe integer", () => {
    for (const value of [0, 1, -1, 127, 128, -128, -129, 2 ** 47 - 1, -(2 ** 47), 2 ** 47, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      expect(toTwosComplement(value).toString("hex"), String(value)).toBe(reference(value));
      expect(type.fromBuffer(type.toBuffer(value))).toBe(value);
    }
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        expect(toTwosComplement(value).toString("hex")).toBe(reference(value));
        expect(type.fromBuffer(type.toBuffer(value))).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });

  it("does not read other scales as E4 units, and refuses non-integers", () => {
    // avsc ignores a logical type whose constructor refuses the schema (as the Avro spec asks): plain bytes.
    const otherScale = avro.Type.forSchema({ type: "bytes", logicalType: "decimal", precision: 18, scale: 2 } as avro.Schema, { logicalTypes: { decimal: DecimalE4Type } });
    expect(otherScale).not.toBeInstanceOf(DecimalE4Type);
    expect(type.isValid(1.5)).toBe(false);
  });
});
