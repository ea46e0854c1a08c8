import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: services are started from here, the way `npm run` starts them. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Where `clm up` keeps pid files, logs and up.json (CLM_RUN_DIR overrides; relative to the repo root). */
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO_ROOT, env.CLM_RUN_DIR || ".run");
}

/** The local stack's directory, as infra/stack.sh computes it (CLM_STACK_DIR overrides). */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO_ROOT, env.CLM_STACK_DIR || ".stack");
}
