import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createLogger, createMetricsRegistry } from "@clm/observability";
import { afterAll, describe, expect, it } from "vitest";
import {
  installedKafkajsDir,
  KAFKAJS_FIXES,
  KAFKAJS_PATCH_FILE,
  KAFKAJS_PATCHED_GAUGE,
  KAFKAJS_PATCHED_VERSION,
  kafkajsFixMarker,
  kafkajsPatchStatus,
  reportKafkajsPatchStatus,
} from "./kafkajs-patch.ts";

// The install (root postinstall: patch-package) and the start-up check, on the installed tree and
// on copies of kafkajs in temporary projects: the original sources are the installed ones with the
// committed patch reversed by patch-package itself.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const POSTINSTALL = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.postinstall!;
const PATH_WITH_BINS = `${join(ROOT, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}`;
const temporaryDirs: string[] = [];
afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs a command in a project directory the way npm runs a script there; its exit status and output. */
function run(command: string, cwd: string): { status: number | null; output: string } {
  const result = spawnSync("sh", ["-c", command], { cwd, env: { ...process.env, PATH: PATH_WITH_BINS, CI: "" }, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A temporary project holding a copy of the installed kafkajs and the committed patch; with `original`, the patch reversed. */
function projectWithKafkajs(options: { original: boolean }): { project: string; kafkajs: string } {
  const project = mkdtempSync(join(tmpdir(), "clm-kafkajs-"));
  temporaryDirs.push(project);
  const kafkajs = join(project, "node_modules", "kafkajs");
  cpSync(installedKafkajsDir(), kafkajs, { recursive: true });
  cpSync(join(ROOT, "patches"), join(project, "patches"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "kafkajs-patch-test", private: true, dependencies: { kafkajs: KAFKAJS_PATCHED_VERSION } }));
  if (options.original) {
    const reversed = run("patch-package --reverse --error-on-fail", project);
    expect(reversed.status, reversed.output).toBe(0);
  }
  return { project, kafkajs };
}

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: () => { level: number; msg: string; missing?: { name: string }[] }[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ service: "test", level: "debug", destination });
  return { logger, lines: () => chunks.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string }) };
}

const gaugeValue = async (registry: ReturnType<typeof createMetricsRegistry>) => (await registry.getSingleMetric(KAFKAJS_PATCHED_GAUGE)!.get()).values[0]!.value;

describe("kafkajs patch check", () => {
  it("reports the installed kafkajs patched: every fix in place, version the patch is for", () => {
    const status = kafkajsPatchStatus();
    expect(status.missing).toEqual([]);
    expect(status).toMatchObject({ patched: true, version: KAFKAJS_PATCHED_VERSION, dir: installedKafkajsDir() });
  });

  it("knows every fix of the committed patch, with as many markers as the patch adds", () => {
    const patch = readFileSync(join(ROOT, KAFKAJS_PATCH_FILE), "utf8");
    const files = patch.split(/^diff --git /m).slice(1);
    const perFile = new Map(files.map((section) => [section.slice(0, section.indexOf(" ")).replace("a/node_modules/kafkajs/", ""), section]));
    expect([...perFile.keys()].sort()).toEqual([...new Set(KAFKAJS_FIXES.map((fix) => fix.file))].sort());
    for (const fix of KAFKAJS_FIXES) {
      const added = perFile.get(fix.file)!.split("\n").filter((line) => line.startsWith("+") && line.includes(kafkajsFixMarker(fix.name)));
      expect(added.length, fix.name).toBe(fix.markers);
      const removed = perFile.get(fix.file)!.split("\n").filter((line) => line.startsWith("-") && !line.startsWith("---")).join("\n");
      expect(removed, fix.name).toContain(fix.originalText.split("\n")[0]!.trim());
    }
  });

  it("reports an unpatched kafkajs (the original sources) unpatched, naming every fix", () => {
    const { kafkajs } = projectWithKafkajs({ original: true });
    const status = kafkajsPatchStatus(kafkajs);
    expect(status.patched).toBe(false);
    expect(status.version).toBe(KAFKAJS_PATCHED_VERSION);
    expect(status.missing.map((entry) => entry.name)).toEqual(KAFKAJS_FIXES.map((fix) => fix.name));
  });

  it("names the one fix that is missing, and another kafkajs version", () => {
    const { kafkajs } = projectWithKafkajs({ original: false });
    const encoder = join(kafkajs, "src/protocol/encoder.js");
    writeFileSync(encoder, readFileSync(encoder, "utf8").replace("Buffer.allocUnsafe(newLength)", "Buffer.alloc(newLength)"));
    expect(kafkajsPatchStatus(kafkajs).missing).toEqual([{ name: "encoder-alloc-unsafe", file: "src/protocol/encoder.js", problem: "the original code is still there" }]);
    const manifest = join(kafkajs, "package.json");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace(`"version": "${KAFKAJS_PATCHED_VERSION}"`, '"version": "2.2.5"'));
    expect(kafkajsPatchStatus(kafkajs).missing.map((entry) => entry.problem)).toEqual([`kafkajs 2.2.5, the patch is for ${KAFKAJS_PATCHED_VERSION}`, "the original code is still there"]);
  });

  it("sets the gauge to 1 and logs no error for the installed kafkajs; 0 and an error naming the fixes for an unpatched one", async () => {
    const patched = capturingLogger();
    const patchedRegistry = createMetricsRegistry("processor");
    expect(reportKafkajsPatchStatus({ logger: patched.logger, registry: patchedRegistry }).patched).toBe(true);
    expect(await gaugeValue(patchedRegistry)).toBe(1);
    expect(await patchedRegistry.metrics()).toContain(`${KAFKAJS_PATCHED_GAUGE}{service="processor"} 1`);
    expect(patched.lines().filter((line) => line.level >= 50)).toEqual([]);

    const { kafkajs } = projectWithKafkajs({ original: true });
    const unpatched = capturingLogger();
    const unpatchedRegistry = createMetricsRegistry("sink");
    expect(reportKafkajsPatchStatus({ logger: unpatched.logger, registry: unpatchedRegistry, dir: kafkajs }).patched).toBe(false);
    expect(await unpatchedRegistry.metrics()).toContain(`${KAFKAJS_PATCHED_GAUGE}{service="sink"} 0`);
    const errors = unpatched.lines().filter((line) => line.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain("kafkajs is not patched");
    expect(errors[0]!.missing!.map((entry) => entry.name)).toEqual(KAFKAJS_FIXES.map((fix) => fix.name));

    // A second check on the same registry (a restarted client) reuses the gauge.
    reportKafkajsPatchStatus({ logger: unpatched.logger, registry: unpatchedRegistry });
    expect(await gaugeValue(unpatchedRegistry)).toBe(1);
  });
});

describe("the install's patch step (the root postinstall)", () => {
  it("patches the original kafkajs, and leaves a patched one as it is", () => {
    const { project, kafkajs } = projectWithKafkajs({ original: true });
    const first = run(POSTINSTALL, project);
    expect(first.status, first.output).toBe(0);
    expect(kafkajsPatchStatus(kafkajs).patched).toBe(true);
    const again = run(POSTINSTALL, project);
    expect(again.status, again.output).toBe(0);
    expect(kafkajsPatchStatus(kafkajs).patched).toBe(true);
  });

  it("fails, changing nothing, when the patch does not apply to the installed text", () => {
    const { project, kafkajs } = projectWithKafkajs({ original: true });
    const encoder = join(kafkajs, "src/protocol/encoder.js");
    writeFileSync(encoder, readFileSync(encoder, "utf8").replace("const newBuffer = Buffer.alloc(newLength)", "const newBuffer = Buffer.alloc(newLength, 0)"));
    const before = KAFKAJS_FIXES.map((fix) => readFileSync(join(kafkajs, fix.file), "utf8"));
    const result = run(POSTINSTALL, project);
    expect(result.status, result.output).not.toBe(0);
    expect(result.output).toContain("Failed to apply patch for package kafkajs");
    expect(KAFKAJS_FIXES.map((fix) => readFileSync(join(kafkajs, fix.file), "utf8"))).toEqual(before);
  });

  it("fails for a kafkajs version other than the patch's", () => {
    const { project, kafkajs } = projectWithKafkajs({ original: true });
    const manifest = join(kafkajs, "package.json");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace(`"version": "${KAFKAJS_PATCHED_VERSION}"`, '"version": "2.2.5"'));
    const result = run(POSTINSTALL, project);
    expect(result.status, result.output).not.toBe(0);
    expect(result.output).toContain("version mismatch");
  });
});
