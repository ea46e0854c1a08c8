import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { configSchema } from "@clm/config";
import { SERVICE_NODE_FLAGS, SOURCE_CONDITION, SOURCE_NODE_FLAGS } from "@clm/observability";
import { afterEach, describe, expect, it } from "vitest";
import { expectedBuildConfigs, staleBuildConfigs } from "./build-config.ts";
import { isRuntimeDistFile, ROOT_RUNTIME_FILES, serviceWorkspaces } from "./runtime-tree.ts";
import { findCycle, listWorkspaces, readManifest, REPO_ROOT, runtimeClosure, type Workspace } from "./workspaces.ts";

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const workspaces = listWorkspaces();

describe("workspaces", () => {
  it("are found from the root package.json's globs, the services among them", () => {
    expect(workspaces.map((workspace) => workspace.dir)).toEqual(expect.arrayContaining(["packages/core", "services/ingest", "services/processor", "services/sink"]));
    expect(serviceWorkspaces(workspaces).map((workspace) => workspace.dir)).toEqual(["services/console", "services/ingest", "services/modeler", "services/processor", "services/sink", "services/webhooks"]);
    for (const workspace of workspaces) expect(workspace.name, workspace.dir).toMatch(/^@clm\//);
  });

  it("need each other at run time without a cycle (tsc -b builds dependencies first)", () => {
    expect(findCycle(workspaces)).toBeNull();
  });

  it("report a cycle when there is one", () => {
    const fake = (name: string, deps: string[]): Workspace => ({ name, dir: `packages/${name}`, manifest: { name }, runtimeWorkspaceDeps: deps });
    expect(findCycle([fake("a", ["b"]), fake("b", ["c"]), fake("c", ["a"])])).toEqual(["a", "b", "c", "a"]);
    expect(() => expectedBuildConfigs([fake("a", ["b"]), fake("b", ["a"])])).toThrow(/cycle/);
  });

  it("each service's run-time closure holds the packages its sources import", () => {
    const closure = runtimeClosure(workspaces, ["@clm/ingest"]).map((workspace) => workspace.name);
    expect(closure).toEqual(expect.arrayContaining(["@clm/ingest", "@clm/state-store", "@clm/core", "@clm/kafka"]));
    expect(closure).not.toContain("@clm/cli");
    expect(closure).not.toContain("@clm/processor");
  });
});

describe("build configs (tsc -b)", () => {
  it("tsconfig.build.json at the root and in every workspace are what scripts/build-config.ts writes (npm run build:config)", () => {
    expect(staleBuildConfigs().map((file) => file.path)).toEqual([]);
  });

  it("the root solution references every workspace", () => {
    const root = JSON.parse(read("tsconfig.build.json")) as { references: { path: string }[] };
    expect(root.references.map((reference) => reference.path).sort()).toEqual(workspaces.map((workspace) => `${workspace.dir}/tsconfig.build.json`).sort());
  });

  it("a workspace's build config is the shared file plus references to its @clm dependencies", () => {
    const ingest = JSON.parse(read("services/ingest/tsconfig.build.json")) as { extends: string; references: { path: string }[] };
    expect(ingest.extends).toBe("../../tsconfig.workspace.json");
    expect(ingest.references).toContainEqual({ path: "../../packages/state-store/tsconfig.build.json" });
    expect(ingest.references).toContainEqual({ path: "../../packages/core/tsconfig.build.json" });
  });
});

describe("package boundaries", () => {
  it.each(workspaces.filter((workspace) => existsSync(join(REPO_ROOT, workspace.dir, "src/index.ts"))).map((workspace) => [workspace.dir, workspace] as const))(
    "%s: exports resolve to src/ under the source condition, to dist/ for node",
    (_dir, workspace) => {
      const exports = workspace.manifest.exports as Record<string, unknown>;
      expect(Object.keys(exports)).toContain(".");
      for (const [subpath, target] of Object.entries(exports)) {
        const file = subpath === "." ? "index" : subpath.slice(2);
        expect(target, subpath).toEqual({ [SOURCE_CONDITION]: `./src/${file}.ts`, types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` });
      }
    },
  );

});

describe("sources through tsx", () => {
  const condition = `--conditions=${SOURCE_CONDITION}`;

  it("the source flags are the condition and tsx's loader", () => {
    expect(SOURCE_NODE_FLAGS).toEqual([condition, "--import", "tsx"]);
  });

  it("every npm script and shell script that runs tsx passes the source condition (else @clm/* resolves to a dist/ that may be stale)", () => {
    const scripts = [readManifest(join(REPO_ROOT, "package.json")), ...workspaces.map((workspace) => workspace.manifest)].flatMap((manifest) => Object.values(manifest.scripts ?? {}));
    // In the shell scripts, the tsx executable itself (a wrapper function named tsx passes the flag once).
    const shell = ["scripts/demo.sh", "scripts/test.sh", "bench/run.sh"].flatMap((path) => read(path).split("\n").filter((line) => !line.trimStart().startsWith("#") && /\.bin\/tsx|npx tsx|--import tsx/.test(line)));
    const npmRuns = scripts.filter((line) => /(^|[\s/])tsx(\s|$)|--import tsx/.test(line));
    // The build's own scripts import no workspace package: no condition needed.
    const tsxRuns = [...npmRuns, ...shell].filter((line) => !/tsx scripts\/(runtime-tree|build-config)\.ts/.test(line));
    expect(tsxRuns.length).toBeGreaterThan(5);
    for (const line of tsxRuns) expect(line, line).toContain(condition);
  });

  it("the services' built start scripts run dist/ with the service flags and without tsx", () => {
    const root = readManifest(join(REPO_ROOT, "package.json")).scripts ?? {};
    for (const service of serviceWorkspaces(workspaces)) {
      const name = service.dir.slice("services/".length);
      expect(root[`start:${name}`]).toBe(`node ${SERVICE_NODE_FLAGS.join(" ")} ${service.dir}/dist/main.js`);
      expect(service.manifest.scripts?.start).toBe(`node ${SERVICE_NODE_FLAGS.join(" ")} dist/main.js`);
    }
  });
});

describe("runtime tree", () => {
  it("holds every file the root postinstall runs (it runs again in the image's production install)", () => {
    const postinstall = readManifest(join(REPO_ROOT, "package.json")).scripts?.postinstall ?? "";
    const files = [...postinstall.matchAll(/(?:^|\s)([\w./-]+\.(?:js|mjs|cjs|ts|sh))(?=\s|$)/g)].map((match) => match[1]!);
    const copied = ROOT_RUNTIME_FILES.map((entry) => entry.path);
    for (const file of files) expect(copied.some((path) => file === path || file.startsWith(`${path}/`)), file).toBe(true);
  });

  it("leaves declarations and build info out of dist/", () => {
    expect(["main.js", "main.js.map", "lua.js"].every(isRuntimeDistFile)).toBe(true);
    expect(["main.d.ts", "main.d.ts.map", "tsconfig.build.tsbuildinfo"].some(isRuntimeDistFile)).toBe(false);
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const lines = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim().replace(/\s+/g, " "))
    .filter((line) => line !== "" && !line.startsWith("#"));
  const stages = lines.reduce<string[][]>((all, line) => (line.startsWith("FROM ") ? [...all, [line]] : all.length === 0 ? all : [...all.slice(0, -1), [...all.at(-1)!, line]]), []);
  const runtime = stages.at(-1)!;
  const build = stages.find((stage) => / AS build$/.test(stage[0]!))!;

  it("is multi-stage: a build stage that installs everything and builds, a runtime stage from the same Node image", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(build.some((line) => /^RUN .*npm ci( |$)/.test(line) && !line.includes("--omit"))).toBe(true);
    expect(build.some((line) => /^RUN npm run build$/.test(line))).toBe(true);
    expect(runtime[0]).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20[\w.-]*-slim$/m);
  });

  it("the runtime stage copies only the build stage's runtime tree and installs production dependencies with scripts allowed", () => {
    const copies = runtime.filter((line) => line.startsWith("COPY "));
    expect(copies).toEqual(["COPY --from=build /runtime/ ./"]);
    const install = runtime.find((line) => line.startsWith("RUN ") && line.includes("npm ci"));
    expect(install).toMatch(/npm ci --omit=dev .*--workspace "services\/\$\{SERVICE\}"/);
    expect(install).not.toMatch(/--ignore-scripts/);
  });

  it("runs as a non-root user, with a HEALTHCHECK by node and the built entry with the service flags", () => {
    const user = runtime.filter((line) => line.startsWith("USER ")).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(runtime.indexOf(user!)).toBeGreaterThan(runtime.findIndex((line) => line.includes("npm ci")));
    const healthcheck = runtime.find((line) => line.startsWith("HEALTHCHECK "));
    expect(healthcheck).toMatch(/CMD \["node", "\/app\/scripts\/healthcheck\.mjs"\]$/);
    expect(ROOT_RUNTIME_FILES.map((entry) => entry.path)).toContain("scripts/healthcheck.mjs");
    expect(runtime).toContain("WORKDIR /app/services/${SERVICE}");
    expect(runtime.at(-1)).toBe(`CMD ${JSON.stringify(["node", ...SERVICE_NODE_FLAGS, "dist/main.js"]).replace(/","/g, '", "')}`);
    expect(runtime).toContain("ENV NODE_ENV=production CLM_SERVICE=${SERVICE}");
  });

  it(".dockerignore keeps installed modules, builds, git and the local stack's secrets out of the context", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const entry of ["**/node_modules", "**/dist", ".git", ".stack", ".run"]) expect(ignored).toContain(entry);
  });

  it("docker-compose.yml builds one image per service from it, nothing installed at container start", () => {
    const compose = read("docker-compose.yml");
    for (const service of serviceWorkspaces(workspaces)) expect(compose).toContain(`args: { SERVICE: ${service.dir.slice("services/".length)} }`);
    expect(compose).not.toMatch(/npm ci|node_modules|npm run (ingest|processor|sink|modeler|console|webhooks)/);
  });
});

describe("scripts/healthcheck.mjs", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  const serve = (status: number) =>
    new Promise<number>((resolve) => {
      server = createServer((request, response) => response.writeHead(request.url === "/healthz" ? status : 404).end("{}"));
      server.listen(0, "127.0.0.1", () => resolve((server!.address() as AddressInfo).port));
    });
  const check = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, "scripts/healthcheck.mjs")], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.once("exit", (code) => resolve({ code, stderr }));
    });

  it("exits 0 when the service's /healthz answers 200, at the port its variable names", async () => {
    const port = await serve(200);
    expect(await check({ CLM_SERVICE: "processor", PROCESSOR_HTTP_PORT: String(port) })).toEqual({ code: 0, stderr: "" });
  });

  it("exits 1 on a 503, on a refused connection and without a known CLM_SERVICE", async () => {
    const port = await serve(503);
    const unhealthy = await check({ CLM_SERVICE: "sink", SINK_HTTP_PORT: String(port) });
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stderr).toContain("503");
    server!.close();
    server = undefined;
    expect((await check({ CLM_SERVICE: "ingest", INGEST_PORT: String(port) })).code).toBe(1);
    expect((await check({ CLM_SERVICE: "nothing" })).stderr).toContain("expected one of ingest, processor, sink, modeler");
  });

  it("knows every service and its port variable's default from @clm/config", () => {
    const text = read("scripts/healthcheck.mjs");
    const defaults = configSchema.parse({});
    const variables = { console: "CONSOLE_PORT", ingest: "INGEST_PORT", processor: "PROCESSOR_HTTP_PORT", sink: "SINK_HTTP_PORT", modeler: "MODELER_HTTP_PORT", webhooks: "WEBHOOKS_PORT" } as const;
    expect(serviceWorkspaces(workspaces).map((service) => service.dir.slice("services/".length)).sort()).toEqual(Object.keys(variables).sort());
    for (const [service, variable] of Object.entries(variables)) {
      expect(text).toContain(`${service}: { variable: "${variable}", fallback: ${defaults[variable]} }`);
    }
  });
});
