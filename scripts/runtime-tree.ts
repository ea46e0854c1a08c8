/**
 * Copies what the built services need at run time into a fresh directory, laid out like the
 * repository: the root package.json and package-lock.json (so `npm ci --omit=dev` installs exactly
 * the locked production dependencies and runs the root postinstall), the files the root scripts and
 * the services read at run time (ROOT_RUNTIME_FILES), and for each workspace the services need
 * (their run-time closure) its package.json and its dist/ without type declarations. The image's
 * runtime stage is this tree plus `npm ci --omit=dev`; the built-services test runs the same.
 *   tsx scripts/runtime-tree.ts OUT_DIR [--service ingest]…   (default: every service)
 * Run after `npm run build`.
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { listWorkspaces, REPO_ROOT, runtimeClosure, type Workspace } from "./workspaces.ts";

/**
 * Files outside the workspaces that the runtime needs, relative to the root:
 *  - the kafkajs patch the root postinstall applies after every install, production ones included
 *    (patches/, applied by patch-package, which @clm/kafka depends on for that reason);
 *  - the Avro schemas (packages/contracts reads schemas/*.avsc), found at the same depth from dist/
 *    as from src/ (a workspace's own run-time files, such as @clm/clickhouse's migrations/, are its
 *    package.json "files");
 *  - the images' health check.
 * Optional entries are copied when they exist.
 */
export const ROOT_RUNTIME_FILES: readonly { path: string; optional?: boolean }[] = [
  { path: "package.json" },
  { path: "package-lock.json" },
  { path: ".npmrc", optional: true },
  { path: "scripts/healthcheck.mjs" },
  { path: "schemas" },
  { path: "patches" },
];

/** The service workspaces: the ones with a src/main.ts under services/. */
export function serviceWorkspaces(workspaces: readonly Workspace[], root: string = REPO_ROOT): Workspace[] {
  return workspaces.filter((workspace) => workspace.dir.startsWith("services/") && existsSync(join(root, workspace.dir, "src/main.ts")));
}

/** Run-time files of a built workspace: dist/ without declarations, declaration maps and build info. */
export function isRuntimeDistFile(name: string): boolean {
  return !/\.d\.ts(\.map)?$|\.tsbuildinfo$/.test(name);
}

export function writeRuntimeTree(outDir: string, serviceNames: readonly string[] | null, root: string = REPO_ROOT): Workspace[] {
  const workspaces = listWorkspaces(root);
  const services = serviceWorkspaces(workspaces, root);
  const chosen = serviceNames === null ? services : serviceNames.map((name) => services.find((service) => service.dir === `services/${name}`) ?? fail(`no service ${name} (services: ${services.map((s) => s.dir.slice("services/".length)).join(", ")})`));
  const closure = runtimeClosure(
    workspaces,
    chosen.map((service) => service.name),
  );
  mkdirSync(outDir, { recursive: true });
  for (const { path, optional } of ROOT_RUNTIME_FILES) {
    const from = join(root, path);
    if (!existsSync(from)) {
      if (optional) continue;
      fail(`${path} is missing`);
    }
    mkdirSync(dirname(join(outDir, path)), { recursive: true });
    cpSync(from, join(outDir, path), { recursive: true });
  }
  // Every workspace's package.json: npm ci checks the lock file against all of them. Only the
  // closure's dist/ is copied; the others are never installed (npm ci --workspace …).
  for (const workspace of workspaces) {
    mkdirSync(join(outDir, workspace.dir), { recursive: true });
    cpSync(join(root, workspace.dir, "package.json"), join(outDir, workspace.dir, "package.json"));
  }
  for (const workspace of closure) {
    const dist = join(root, workspace.dir, "dist");
    if (!existsSync(dist) || readdirSync(dist).length === 0) fail(`${workspace.dir}/dist is missing: run npm run build first`);
    cpSync(dist, join(outDir, workspace.dir, "dist"), { recursive: true, filter: (source) => isRuntimeDistFile(source) });
    // What a package reads at run time besides its code (e.g. @clm/clickhouse's migrations/), listed in its
    // package.json "files" as npm would pack it.
    for (const entry of runtimeFilesOf(workspace)) cpSync(join(root, workspace.dir, entry), join(outDir, workspace.dir, entry), { recursive: true });
  }
  return chosen;
}

/** The package.json "files" entries of a workspace other than dist/ (copied above without declarations). */
function runtimeFilesOf(workspace: Workspace): string[] {
  const files = (workspace.manifest as { files?: unknown }).files;
  return Array.isArray(files) ? files.filter((entry): entry is string => typeof entry === "string" && entry.replace(/\/$/, "") !== "dist") : [];
}

function fail(message: string): never {
  throw new Error(`runtime-tree: ${message}`);
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { service: { type: "string", multiple: true } }, allowPositionals: true });
  if (positionals.length !== 1) {
    console.error("usage: tsx scripts/runtime-tree.ts OUT_DIR [--service NAME]…");
    process.exit(2);
  }
  const services = writeRuntimeTree(positionals[0]!, values.service ?? null);
  console.log(`runtime tree for ${services.map((service) => service.name).join(", ")} in ${positionals[0]}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
