import { parseCommandArgs } from "../args.ts";
import { commandConfig } from "../context.ts";
import { checkHealth, healthUrl, runningPid, SERVICES } from "../services.ts";
import { STACK_SERVERS, stackStatus, type StackServer } from "../stack.ts";
import { renderTable } from "../table.ts";

export const usage = `clm status [--json]
  Health of each component: the stack's servers (kafka, registry, redis, clickhouse) and the
  pipeline's services (ingest, processor, sink). Exit code 0 only when all are ok.`;

export interface ComponentStatus {
  name: string;
  kind: "server" | "service";
  url: string;
  pid: number | null;
  health: "ok" | "down";
  detail: string;
}

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { json: { type: "boolean", default: false } }, { min: 0, max: 0 });
  const config = commandConfig();

  const [servers, services] = await Promise.all([
    stackStatus()
      .then((status) => status.servers.map(serverStatus))
      .catch((error: unknown) => STACK_SERVERS.map((name): ComponentStatus => ({ name, kind: "server", url: "", pid: null, health: "down", detail: (error as Error).message }))),
    Promise.all(
      SERVICES.map(async (service): Promise<ComponentStatus> => {
        const url = healthUrl(service, config);
        const health = await checkHealth(url);
        return { name: service.name, kind: "service", url: url.replace(/\/healthz$/, ""), pid: runningPid(service), health: health.ok ? "ok" : "down", detail: health.detail };
      }),
    ),
  ]);
  const components = [...servers, ...services];
  const ok = components.every((component) => component.health === "ok");

  if (values.json) {
    console.log(JSON.stringify({ ok, components }));
  } else {
    console.log(
      renderTable(
        ["component", "health", "pid", "url", "detail"],
        components.map((component) => [component.name, component.health, component.pid === null ? "-" : String(component.pid), component.url, component.detail]),
        ["left", "left", "right", "left", "left"],
      ),
    );
  }
  return ok ? 0 : 1;
}

function serverStatus(server: StackServer): ComponentStatus {
  const detail = server.healthy ? [server.version, server.state === "running" ? "" : server.state].filter(Boolean).join("; ") : server.state;
  return { name: server.name, kind: "server", url: server.url, pid: server.pid, health: server.healthy ? "ok" : "down", detail };
}
