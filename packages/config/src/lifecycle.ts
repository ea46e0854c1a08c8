import { readFileSync } from "node:fs";
import { LifecycleConfigError, parseLifecycleConfig, type LifecycleConfig } from "@clm/core";
import { ConfigError, type Config } from "./config.ts";

/**
 * The lifecycle model for a service: the JSON file named by LIFECYCLE_CONFIG_FILE
 * (or the defaults), with REPORTING_CURRENCY applied on top. Problems are reported
 * as a ConfigError naming the variable, the file and the path inside it.
 */
export function loadLifecycleConfig(config: Pick<Config, "LIFECYCLE_CONFIG_FILE" | "REPORTING_CURRENCY">): LifecycleConfig {
  let input: Record<string, unknown> = {};
  const file = config.LIFECYCLE_CONFIG_FILE;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError([{ variable: "LIFECYCLE_CONFIG_FILE", message: `cannot read ${file}: ${(error as Error).message}` }]);
    }
    try {
      input = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([{ variable: "LIFECYCLE_CONFIG_FILE", message: `${file} is not JSON: ${(error as Error).message}` }]);
    }
  }
  if (config.REPORTING_CURRENCY !== undefined) input = { ...input, reportingCurrency: config.REPORTING_CURRENCY };
  try {
    return parseLifecycleConfig(input);
  } catch (error) {
    if (error instanceof LifecycleConfigError) {
      throw new ConfigError(error.problems.map((problem) => ({ variable: "LIFECYCLE_CONFIG_FILE", message: `${file ?? "(defaults)"}: ${problem.path}: ${problem.message}` })));
    }
    throw error;
  }
}
