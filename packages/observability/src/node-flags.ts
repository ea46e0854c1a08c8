/**
 * V8 flags every service runs with. The services allocate many short-lived objects per record
 * (decoded events, state copies, rows); a 64 MiB young generation (V8's default is 16 MiB)
 * cuts scavenges and premature promotion — in the processor benchmark GC time fell from 2.2 s
 * to 1.5 s per 300k events (docs/performance.md). The npm scripts and the Dockerfile repeat these flags.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];

/**
 * The export condition under which the workspace packages resolve to their TypeScript sources
 * (package.json "exports"); without it, as plain `node` runs the build, they resolve to dist/.
 */
export const SOURCE_CONDITION = "@clm/source";

/**
 * What runs an entry from the TypeScript sources, in this one process: the source condition, so
 * `@clm/*` imports reach src/ rather than a dist/ that may be stale or missing, and tsx's loader.
 * The npm scripts and shell scripts that use tsx repeat these flags.
 */
export const SOURCE_NODE_FLAGS: readonly string[] = [`--conditions=${SOURCE_CONDITION}`, "--import", "tsx"];
