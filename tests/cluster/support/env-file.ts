import { readFileSync } from "node:fs";

/** The variables of an env file infra/stack.sh writes (`export NAME=value` lines; nothing else is in it). */
export function readEnvFile(file: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) variables[match[1]!] = match[2]!;
  }
  return variables;
}
