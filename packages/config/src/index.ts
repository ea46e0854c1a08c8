export { loadConfig, ConfigError, configSchema, CONFIG_VARIABLES } from "./config.ts";
export type { Config } from "./config.ts";
export { loadLifecycleConfig } from "./lifecycle.ts";
export { apiKeysOf, createApiKeyCheck, DEVELOPMENT_API_KEY, isLoopbackHost, SCOPE_VARIABLES, type ApiKeysByScope, type Scope } from "./api-keys.ts";
