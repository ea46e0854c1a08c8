import { describe, expect, it } from "vitest";
import { readValueModelActivation, VALUE_MODEL_HEADER, valueModelActivationMessage } from "./value-model-activation.ts";

const version = "m-1997-09-30-0123abcd";

describe("value-model activation control records", () => {
  it("are read back from what a consumer receives (header bytes, null value, no key)", () => {
    const message = valueModelActivationMessage(version, 2);
    expect(message).toEqual({ partition: 2, key: null, value: null, headers: { [VALUE_MODEL_HEADER]: version } });
    expect(readValueModelActivation({ value: null, headers: { [VALUE_MODEL_HEADER]: Buffer.from(version) } })).toEqual({ kind: "activate", version });
    expect(() => valueModelActivationMessage("latest", 0)).toThrow(RangeError);
  });

  it("leave every other record alone and name what is wrong with a malformed one", () => {
    expect(readValueModelActivation({ value: Buffer.from([0, 0, 0, 0, 1]), headers: {} })).toEqual({ kind: "none" });
    expect(readValueModelActivation({ value: null })).toEqual({ kind: "none" });
    expect(readValueModelActivation({ value: null, headers: { [VALUE_MODEL_HEADER]: Buffer.from("m-1997-09-30") } })).toMatchObject({ kind: "invalid" });
    expect(readValueModelActivation({ value: Buffer.from("x"), headers: { [VALUE_MODEL_HEADER]: Buffer.from(version) } })).toEqual({ kind: "invalid", reason: "a value-model activation carries no value" });
    expect(readValueModelActivation({ value: null, headers: { [VALUE_MODEL_HEADER]: [Buffer.from(version), Buffer.from(version)] } })).toMatchObject({ kind: "invalid" });
  });
});
