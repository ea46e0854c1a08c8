/**
 * The npm workspaces of this repository, read from the root package.json's "workspaces" globs, and
 * the dependency graph between them. The build configs (scripts/build-config.ts), the runtime tree
 * of the images (scripts/runtime-tree.ts) and their tests all start from here, so a new package is
 * found by being a workspace, not by being added to a list.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

export interface PackageManifest {
  name: string;
  private?: boolean;
  workspaces?: string[];
  exports?: unknown;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface Workspace {
  /** The package name, e.g. "@clm/core". */
  name: string;
  /** Its directory relative to the repository root, with "/" separators, e.g. "packages/core". */
  dir: string;
  manifest: PackageManifest;
  /** Names of the workspaces it needs at run time (dependencies, peer and optional dependencies). */
  runtimeWorkspaceDeps: string[];
}

export function readManifest(path: string): PackageManifest {
  return JSON.parse(readFileSync(path, "utf8")) as PackageManifest;
}

/** Run-time dependency names of a manifest: what `npm ci --omit=dev` installs for it. */
export function runtimeDependencyNames(manifest: PackageManifest): string[] {
  return [...new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})])].sort();
}

/**
 * Every workspace, sorted by directory. The globs are of the form "dir/*" (npm accepts more; this
 * repository uses only that, and anything else is refused rather than half-understood).
 */
export function listWorkspaces(root: string = REPO_ROOT): Workspace[] {
  const rootManifest = readManifest(join(root, "package.json"));
  const dirs: string[] = [];
  for (const pattern of rootManifest.workspaces ?? []) {
    const match = /^([\w.-]+(?:\/[\w.-]+)*)\/\*$/.exec(pattern);
    if (match === null) throw new Error(`workspace pattern ${JSON.stringify(pattern)}: only "dir/*" patterns are understood`);
    const parent = match[1]!;
    if (!existsSync(join(root, parent))) continue;
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(root, parent, entry.name, "package.json"))) dirs.push(`${parent}/${entry.name}`);
    }
  }
  const manifests = dirs.sort().map((dir) => ({ dir, manifest: readManifest(join(root, dir, "package.json")) }));
  const names = new Set(manifests.map(({ manifest }) => manifest.name));
  return manifests.map(({ dir, manifest }) => ({
    name: manifest.name,
    dir,
    manifest,
    runtimeWorkspaceDeps: runtimeDependencyNames(manifest).filter((name) => names.has(name)),
  }));
}

/** The workspaces named and every workspace they need at run time, transitively, sorted by directory. */
export function runtimeClosure(workspaces: readonly Workspace[], names: readonly string[]): Workspace[] {
  const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]));
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const workspace = byName.get(name);
    if (workspace === undefined) throw new Error(`${name} is not a workspace`);
    seen.add(name);
    workspace.runtimeWorkspaceDeps.forEach(visit);
  };
  names.forEach(visit);
  return workspaces.filter((workspace) => seen.has(workspace.name));
}

/** A run-time dependency cycle between workspaces (tsc -b cannot build one), as a list of names, or null. */
export function findCycle(workspaces: readonly Workspace[]): string[] | null {
  const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]));
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === "done") return null;
    if (state.get(name) === "visiting") return [...path.slice(path.indexOf(name)), name];
    state.set(name, "visiting");
    path.push(name);
    for (const dep of byName.get(name)?.runtimeWorkspaceDeps ?? []) {
      const cycle = visit(dep);
      if (cycle !== null) return cycle;
    }
    path.pop();
    state.set(name, "done");
    return null;
  };
  for (const workspace of workspaces) {
    const cycle = visit(workspace.name);
    if (cycle !== null) return cycle;
  }
  return null;
}
