import { existsSync, readdirSync, readFileSync } from "node:fs";
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

const ROOT = import.meta.dirname;

/** The workspaces (packages/*, services/*) with their package.json, read from disk so a new one is covered at once. */
const workspaces = ["packages", "services"].flatMap((area) =>
  readdirSync(`${ROOT}/${area}`)
    .filter((name) => existsSync(`${ROOT}/${area}/${name}/package.json`))
    .map((name) => ({ dir: `./${area}/${name}`, manifest: JSON.parse(readFileSync(`${ROOT}/${area}/${name}/package.json`, "utf8")) })),
);
const services = workspaces.filter((workspace) => workspace.dir.startsWith("./services/"));
/** Code that is not a test: every workspace, the scripts and the benches. Only tests/ may import a service. */
const nonTestCode = [...workspaces.map((workspace) => workspace.dir), "./scripts", "./bench"];

/**
 * The architecture, on resolved paths (a package name and a relative path that land in the same
 * folder are the same import): a service is imported by tests only, never by another service, a
 * package, a script or a bench; tests/ is imported by nothing else; bench/ and scripts/ by no workspace.
 */
const zones = [
  ...services.map((service) => ({
    target: nonTestCode.filter((dir) => dir !== service.dir),
    from: service.dir,
    message: `${service.manifest.name} is a service: only tests import it. Shared code belongs in a package (packages/*) that both sides import.`,
  })),
  { target: nonTestCode, from: "./tests", message: "Test helpers are for tests; what benches share with tests lives in @clm/testkit." },
  { target: workspaces.map((workspace) => workspace.dir), from: ["./bench", "./scripts"], message: "Workspaces do not import the repository's benches or scripts." },
];

/**
 * A package is used through the entry points its package.json exports, never its files: `@clm/x/src/…`
 * and any other subpath fail unless `exports` lists it (e.g. @clm/state-store/admin).
 */
const exportedSubpaths = workspaces.flatMap(({ manifest }) =>
  Object.keys(manifest.exports ?? {})
    .filter((key) => key.startsWith("./") && key !== "./")
    .map((key) => `!${manifest.name}/${key.slice(2)}`),
);
const deepImports = { group: ["@clm/*/*", ...exportedSubpaths], message: "Import a workspace package by its name or an entry point its package.json exports, not its files." };
/** The ingest service answers reads: it gets @clm/state-store's reader, not the writes of its ./admin entry. */
const stateWrites = { group: ["@clm/state-store/admin"], message: "Ingest only reads the processor's state (@clm/state-store); writes outside the processor are for operations (processor commands, demo, tests)." };

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", ".stack/**", ".run/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Boundaries between workspaces: see README.md (Layout) and tests/architecture/.
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createNodeResolver()] },
    rules: {
      "import-x/no-restricted-paths": ["error", { basePath: ROOT, zones }],
      // A relative path into another workspace's folder: import the package by its name instead.
      "import-x/no-relative-packages": "error",
      "no-restricted-imports": ["error", { patterns: [deepImports] }],
    },
  },
  {
    files: ["services/ingest/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [deepImports, stateWrites] }],
    },
  },
  {
    // The lifecycle core is pure: no I/O clients, no Node built-ins, no wall clock.
    files: ["packages/core/src/**/*.ts"],
    ignores: ["packages/core/src/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            deepImports,
            { group: ["node:*", "fs", "path", "os", "net", "http", "crypto"], message: "packages/core is pure: no Node I/O." },
            { group: ["kafkajs", "ioredis", "@clickhouse/*", "@kafkajs/*", "pino", "prom-client"], message: "packages/core is pure: no I/O clients." },
          ],
        },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "packages/core never reads the clock: time is an argument." },
        { object: "performance", property: "now", message: "packages/core never reads the clock." },
        { object: "Math", property: "random", message: "packages/core is deterministic." },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "packages/core never reads the clock: pass time in." },
      ],
    },
  },
);
