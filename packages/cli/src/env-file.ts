/**
 * Parses the shell env file infra/stack.sh writes (`export NAME=value` lines, `#` comments).
 * Only what stack.sh writes is understood: no expansions; single or double quotes around a
 * whole value are removed.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    variables[match[1]!] = value;
  }
  return variables;
}

/**
 * The environment with the stack's variables filled in. Variables already set win: someone who
 * exports KAFKA_BROKERS on purpose means it, the same way services read their environment.
 */
export function withStackEnv(env: NodeJS.ProcessEnv, stackVariables: Record<string, string>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(stackVariables)) {
    if (merged[name] === undefined) merged[name] = value;
  }
  return merged;
}
