import { parseCommandArgs, UsageError } from "./args.ts";

export type ModelCommand =
  | { action: "fit"; calibrationEnd: string | undefined; json: boolean }
  | { action: "evaluate"; calibrationEnd: string; holdoutEnd: string; json: boolean }
  | { action: "show"; json: boolean };

/** A calendar day YYYY-MM-DD (a real one). */
export function dayOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
    throw new UsageError(`--${name} expects a day YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** `clm model fit|evaluate|show …` → what to do. */
export function parseModelArgs(args: readonly string[]): ModelCommand {
  const { values, positionals } = parseCommandArgs(
    args,
    { "calibration-end": { type: "string" }, "holdout-end": { type: "string" }, json: { type: "boolean", default: false } },
    { min: 1, max: 1 },
  );
  const action = positionals[0];
  const calibrationEnd = dayOption("calibration-end", values["calibration-end"]);
  const holdoutEnd = dayOption("holdout-end", values["holdout-end"]);
  const json = values.json;
  switch (action) {
    case "fit":
      if (holdoutEnd !== undefined) throw new UsageError("--holdout-end belongs to 'clm model evaluate'");
      return { action, calibrationEnd, json };
    case "evaluate":
      if (calibrationEnd === undefined || holdoutEnd === undefined) throw new UsageError("evaluate needs --calibration-end and --holdout-end");
      if (holdoutEnd <= calibrationEnd) throw new UsageError(`--holdout-end ${holdoutEnd} must be after --calibration-end ${calibrationEnd}`);
      return { action, calibrationEnd, holdoutEnd, json };
    case "show":
      if (calibrationEnd !== undefined || holdoutEnd !== undefined) throw new UsageError("show takes only --json");
      return { action, json };
    default:
      throw new UsageError(`unknown subcommand ${JSON.stringify(action)}; expected fit, evaluate or show`);
  }
}
