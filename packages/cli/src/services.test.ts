import { existsSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NODE_FLAGS, SOURCE_NODE_FLAGS } from "@clm/observability";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./paths.ts";
import { runsFrom, serviceArgs, serviceEntry, SERVICES } from "./services.ts";

const ingest = SERVICES.find((service) => service.name === "ingest")!;

describe("service commands", () => {
  it("run the sources through tsx with the source condition, the build with plain node", () => {
    expect(serviceArgs(ingest, "source")).toEqual([...SERVICE_NODE_FLAGS, ...SOURCE_NODE_FLAGS, "services/ingest/src/main.ts"]);
    expect(serviceArgs(ingest, "build")).toEqual([...SERVICE_NODE_FLAGS, "services/ingest/dist/main.js"]);
  });

  it("every service's source entry exists", () => {
    for (const service of SERVICES) expect(existsSync(join(REPO_ROOT, serviceEntry(service, "source"))), service.name).toBe(true);
  });

  it("tell from a command line which entry of which service it runs", () => {
    expect(runsFrom(["/usr/bin/node", ...serviceArgs(ingest, "source")], ingest)).toBe("source");
    expect(runsFrom(["/usr/bin/node", "--max-semi-space-size=64", "/repo/services/ingest/dist/main.js"], ingest)).toBe("build");
    expect(runsFrom(["/usr/bin/node", ...serviceArgs(SERVICES.find((service) => service.name === "sink")!, "build")], ingest)).toBeNull();
  });
});
