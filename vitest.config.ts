import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources under the export condition "@clm/source"
// (their package.json "exports"); without it, to the build in dist/. Tests run on Vite's server
// side (ssr); its default conditions follow.
const ssr = { resolve: { conditions: ["@clm/source", "module", "node", "development|production"] } };

// Three projects: `unit` needs no servers (pure code, beside the sources; the alert rules and the
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
      {
        ssr,
        test: {
          // Against the cluster profile of the local stack (`npm run stack -- up --profile cluster`),
          // with its env file loaded: Kafka and Redis clusters, sharded ClickHouse, and their faults.
          name: "cluster",
          include: ["tests/cluster/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
