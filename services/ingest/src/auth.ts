// The API keys by scope live in @clm/config: the console accepts the same read keys.
export { apiKeysOf, createApiKeyCheck, DEVELOPMENT_API_KEY, isLoopbackHost, SCOPE_VARIABLES, type ApiKeysByScope, type Scope } from "@clm/config";
