import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources under the export condition "@clm/source"
// (their package.json "exports"); without it, to the build in dist/. Tests run on Vite's server
// side (ssr); its default conditions follow.
const ssr = { resolve: { conditions: ["@clm/source", "module", "node", "development|production"] } };

// The cluster profile's env file (`npm run stack -- up --profile cluster` writes it, `export NAME=value`
// lines, unquoted): the `cluster` project exists once that stack has been brought up, and its tests
// read that stack's servers.
const clusterEnvFile = resolve(import.meta.dirname, process.env.CLM_CLUSTER_STACK_DIR || ".stack-cluster", "env");
const clusterEnv = existsSync(clusterEnvFile)
  ? Object.fromEntries([...readFileSync(clusterEnvFile, "utf8").matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((line) => [line[1]!, line[2]!]))
  : undefined;

// Projects: `unit` needs no servers (pure code, beside the sources; the alert rules and the
// dashboard in infra/, through promtool; the repository's own architecture in tests/architecture);
// `integration` talks to the real servers of the local stack (infra/stack.sh); `cluster` to its
// cluster profile.
export default defineConfig({
  test: {
    projects: [
      {
        ssr,
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "scripts/**/*.test.ts", "infra/**/*.test.ts", "tests/architecture/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        ssr,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Integration suites share the same servers; run files one at a time.
          fileParallelism: false,
        },
      },
      // `cluster`: tests/cluster against the cluster profile (3 brokers, Redis Cluster, 2 ClickHouse shards).
      ...(clusterEnv
        ? [
            {
              ssr,
              test: {
                name: "cluster",
                include: ["tests/cluster/**/*.test.ts"],
                environment: "node",
                env: clusterEnv,
                testTimeout: 120_000,
                hookTimeout: 300_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
