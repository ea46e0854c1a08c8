import { parseCommandArgs } from "../args.ts";
import { isServiceProcess, readPid, removePidFile, SERVICES, type ServiceSpec } from "../services.ts";
import { runStack } from "../stack.ts";
import { readUpRecord, removeUpRecord } from "../up-record.ts";

export const usage = `clm down [--stack]
  Stops the services 'clm up' started (SIGTERM, SIGKILL after 20 s) and removes their pid files.
  Stops the local stack too if 'clm up' started it, or with --stack.`;

const STOP_TIMEOUT_MS = 20_000;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { stack: { type: "boolean", default: false } }, { min: 0, max: 0 });
  const record = readUpRecord();

  // All at once: each service drains on SIGTERM (finish the batch, commit, leave the group) independently.
  const results = await Promise.all(SERVICES.map((service) => stop(service)));
  let failed = false;
  for (const result of results) {
    console.log(`${result.service.name.padEnd(10)} ${result.message}`);
    if (!result.ok) failed = true;
  }

  if (values.stack || record?.startedStack) {
    console.log(values.stack ? "stopping the local stack (--stack)" : "stopping the local stack ('clm up' started it)");
    const code = await runStack(["down"]);
    if (code !== 0) {
      console.error(`clm down: 'stack.sh down' failed (exit ${code})`);
      return 1;
    }
  } else {
    console.log("local stack left running (not started by 'clm up'; --stack stops it)");
  }
  if (!failed) removeUpRecord();
  return failed ? 1 : 0;
}

async function stop(service: ServiceSpec): Promise<{ service: ServiceSpec; ok: boolean; message: string }> {
  const pid = readPid(service);
  if (pid === null) return { service, ok: true, message: "not running" };
  if (!isServiceProcess(pid, service)) {
    removePidFile(service);
    return { service, ok: true, message: `not running (stale pid file for ${pid} removed)` };
  }
  const started = Date.now();
  signal(pid, "SIGTERM");
  while (Date.now() - started < STOP_TIMEOUT_MS) {
    if (!isServiceProcess(pid, service)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let how = "SIGTERM";
  if (isServiceProcess(pid, service)) {
    how = `SIGKILL after ${STOP_TIMEOUT_MS / 1000} s`;
    signal(pid, "SIGKILL");
    for (let attempt = 0; attempt < 25 && isServiceProcess(pid, service); attempt++) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (isServiceProcess(pid, service)) return { service, ok: false, message: `pid ${pid} still running after SIGKILL` };
  removePidFile(service);
  return { service, ok: true, message: `stopped pid ${pid} (${how}, ${((Date.now() - started) / 1000).toFixed(1)} s)` };
}

/** `up` starts each service as its own process-group leader; signalling the group also reaches any child it spawned. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(-pid, name);
  } catch {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}
