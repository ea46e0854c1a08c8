import { describe, expect, it } from "vitest";
import { parseStackStatus, stackFullyRunning, stackStopped } from "./stack.ts";

// The shape `infra/stack.sh status --json` prints.
const sample = {
  stackDir: "/repo/.stack",
  services: [
    { name: "kafka", state: "running", pid: 5727, url: "PLAINTEXT://127.0.0.1:19092 (controller 127.0.0.1:19093)", healthy: true, version: "4.4.0", detail: "cluster x" },
    { name: "redis", state: "stopped", pid: null, url: "redis://127.0.0.1:16379", healthy: false, version: "", detail: "" },
  ],
  ok: false,
};

describe("stack status", () => {
  it("reads stack.sh's JSON", () => {
    const status = parseStackStatus(JSON.stringify(sample));
    expect(status.ok).toBe(false);
    expect(status.servers[0]).toEqual({ name: "kafka", state: "running", pid: 5727, url: sample.services[0]!.url, healthy: true, version: "4.4.0", detail: "cluster x" });
    expect(status.servers[1]!.pid).toBeNull();
    expect(() => parseStackStatus("{}")).toThrow(/services/);
  });

  it("tells a fully running, a partly running and a stopped stack apart", () => {
    const partly = parseStackStatus(JSON.stringify(sample));
    expect(stackFullyRunning(partly)).toBe(false);
    expect(stackStopped(partly)).toBe(false);
    const stopped = { ...partly, servers: partly.servers.map((server) => ({ ...server, state: "stopped" })) };
    expect(stackStopped(stopped)).toBe(true);
    const running = { ...partly, servers: partly.servers.map((server) => ({ ...server, state: "running" })) };
    expect(stackFullyRunning(running)).toBe(true);
    const optional = { ...running, servers: [...running.servers, { name: "prometheus", state: "stopped (optional)", pid: null, url: "", healthy: false, version: "", detail: "" }] };
    expect(stackFullyRunning(optional)).toBe(true);
    expect(stackStopped({ ...optional, servers: optional.servers.slice(-1) })).toBe(true);
  });
});
