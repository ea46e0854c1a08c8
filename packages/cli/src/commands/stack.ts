import { runStack } from "../stack.ts";

export const usage = `clm stack <args…>
  Runs infra/stack.sh with these arguments (up, down, status [--json], logs [name] [-f], reset).`;

/** Arguments go to stack.sh untouched, flags included: the script owns their meaning. */
export async function run(args: readonly string[]): Promise<number> {
  return runStack(args);
}
