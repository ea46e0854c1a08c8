import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Every workspace declares in its own package.json every package its files import (tests included):
 * npm hoists all packages to the root node_modules, so an undeclared import works here and breaks
 * wherever a workspace is built or installed on its own (tsc project references, a service's image).
 * The root package is a workspace too: bench/, scripts/, tests/, infra/ and the config files are its files.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIPPED_DIRS = new Set(["node_modules", "dist", "coverage", ".stack", ".run", ".git"]);

interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    if (SKIPPED_DIRS.has(entry)) return [];
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return SOURCE.test(entry) && !entry.endsWith(".d.ts") ? [path] : [];
  });
}

const rootManifest = readManifest(ROOT);
/** packages/*, services/* as the root manifest lists them. */
const workspaceDirs = rootManifest.workspaces!.flatMap((pattern) => {
  const area = pattern.replace(/\/\*$/, "");
  return readdirSync(join(ROOT, area))
    .map((name) => join(ROOT, area, name))
    .filter((dir) => statSync(join(dir, "package.json"), { throwIfNoEntry: false })?.isFile() === true);
});
const rootFiles = [
  ...readdirSync(ROOT).filter((entry) => SOURCE.test(entry)).map((entry) => join(ROOT, entry)),
  ...["bench", "scripts", "tests", "infra"].flatMap((dir) => sourceFiles(join(ROOT, dir))),
];
const workspaces = [
  { dir: ROOT, manifest: rootManifest, files: rootFiles },
  ...workspaceDirs.map((dir) => ({ dir, manifest: readManifest(dir), files: sourceFiles(dir) })),
];

/** The package a bare specifier names (`@scope/name` or `name`), or null for relative paths and Node's built-ins. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  return builtinModules.includes(name) ? null : name;
}

/** Package → the files that import it (static, type-only, re-exports, dynamic import() and require()). */
function importsOf(files: readonly string[]): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const file of files) {
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      const name = packageOf(fileName);
      if (name === null) continue;
      imports.set(name, [...(imports.get(name) ?? []), relative(ROOT, file)]);
    }
  }
  return imports;
}

function describeFiles(files: readonly string[]): string {
  const unique = [...new Set(files)];
  return unique.length > 3 ? `${unique.slice(0, 3).join(", ")} and ${unique.length - 3} more` : unique.join(", ");
}

function declared(manifest: Manifest): Set<string> {
  return new Set([manifest.dependencies, manifest.devDependencies, manifest.peerDependencies, manifest.optionalDependencies].flatMap((deps) => Object.keys(deps ?? {})));
}

describe("declared dependencies", () => {
  it("finds the workspaces and their files", () => {
    expect(workspaces.map((workspace) => workspace.manifest.name)).toEqual(expect.arrayContaining(["@clm/core", "@clm/processor", "@clm/state-store", "@clm/clickhouse", "@clm/testkit"]));
    for (const workspace of workspaces) expect(workspace.files.length, workspace.manifest.name).toBeGreaterThan(0);
  });

  it.each(workspaces.map((workspace) => [workspace.manifest.name, workspace] as const))("%s declares every package it imports", (_name, workspace) => {
    const have = declared(workspace.manifest);
    const missing = [...importsOf(workspace.files)]
      .filter(([name]) => name !== workspace.manifest.name && !have.has(name))
      .map(([name, files]) => `${name} (imported by ${describeFiles(files)})`);
    // As text, so a failure lists every missing package and where it is imported.
    expect(missing.join("\n"), `add these to ${relative(ROOT, join(workspace.dir, "package.json")) || "package.json"}`).toBe("");
  });

  it.each(workspaces.filter((workspace) => workspace.dir !== ROOT).map((workspace) => [workspace.manifest.name, workspace] as const))(
    "%s: its run-time sources import only its dependencies (a production install has nothing else)",
    (_name, workspace) => {
      const runtime = new Set([...Object.keys(workspace.manifest.dependencies ?? {}), ...Object.keys(workspace.manifest.peerDependencies ?? {})]);
      const sources = workspace.files.filter((file) => {
        const path = relative(join(workspace.dir, "src"), file);
        return !path.startsWith("..") && !path.startsWith("testing/") && !/\.test\.[cm]?[jt]s$/.test(path);
      });
      const missing = [...importsOf(sources)]
        .filter(([name]) => name !== workspace.manifest.name && !runtime.has(name))
        .map(([name, files]) => `${name} (imported by ${describeFiles(files)})`);
      expect(missing.join("\n"), `move these to "dependencies" in ${relative(ROOT, join(workspace.dir, "package.json"))}`).toBe("");
    },
  );

  it.each(workspaces.map((workspace) => [workspace.manifest.name, workspace] as const))("%s declares no workspace package it does not import", (name, workspace) => {
    const imported = importsOf(workspace.files);
    // The root depends on @clm/cli for its `clm` command (npx clm), which nothing imports.
    const used = new Set([...imported.keys(), ...(name === rootManifest.name ? ["@clm/cli"] : [])]);
    const stale = [...declared(workspace.manifest)].filter((dependency) => dependency.startsWith("@clm/") && !used.has(dependency));
    expect(stale.join("\n"), `workspace dependencies that no file of ${name} imports`).toBe("");
  });

  it("has no cycle between workspaces, counting devDependencies (core ↔ datasets was one), and no workspace depends on a service", () => {
    const graph = new Map(workspaces.map(({ manifest }) => [manifest.name, [...declared(manifest)].filter((name) => name.startsWith("@clm/"))]));
    const services = new Set(workspaces.filter(({ dir }) => relative(ROOT, dir).startsWith("services/")).map(({ manifest }) => manifest.name));
    for (const [name, dependencies] of graph) {
      if (name === rootManifest.name) continue;
      expect(dependencies.filter((dependency) => services.has(dependency)), `${name} depends on a service`).toEqual([]);
    }
    const cycles: string[] = [];
    const visit = (name: string, path: readonly string[]) => {
      if (path.includes(name)) return void cycles.push([...path.slice(path.indexOf(name)), name].join(" → "));
      for (const dependency of graph.get(name) ?? []) visit(dependency, [...path, name]);
    };
    for (const name of graph.keys()) visit(name, []);
    expect([...new Set(cycles)]).toEqual([]);
  });
});
