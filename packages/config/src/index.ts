export { loadConfig, ConfigError, configSchema, CONFIG_VARIABLES } from "./config.ts";
export type { Config } from "./config.ts";
export { loadLifecycleConfig } from "./lifecycle.ts";
