import { describe, expect, it } from "vitest";
import { UsageError } from "./args.ts";
import { parseModelArgs } from "./model-args.ts";

describe("clm model arguments", () => {
  it("read fit, evaluate and show", () => {
    expect(parseModelArgs(["fit"])).toEqual({ action: "fit", calibrationEnd: undefined, json: false });
    expect(parseModelArgs(["fit", "--calibration-end", "1997-09-30", "--json"])).toEqual({ action: "fit", calibrationEnd: "1997-09-30", json: true });
    expect(parseModelArgs(["evaluate", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30"])).toEqual({
      action: "evaluate",
      calibrationEnd: "1997-09-30",
      holdoutEnd: "1998-06-30",
      json: false,
    });
    expect(parseModelArgs(["show", "--json"])).toEqual({ action: "show", json: true });
  });

  it.each([
    [[]],
    [["refit"]],
    [["fit", "--calibration-end", "1997-09-31"]],
    [["fit", "--calibration-end", "30/09/1997"]],
    [["fit", "--holdout-end", "1998-06-30"]],
    [["evaluate", "--calibration-end", "1997-09-30"]],
    [["evaluate", "--calibration-end", "1998-06-30", "--holdout-end", "1998-06-30"]],
    [["show", "--calibration-end", "1997-09-30"]],
    [["fit", "--weeks"]],
  ])("refuse %j with a usage error", (args) => {
    expect(() => parseModelArgs(args)).toThrow(UsageError);
  });
});
