import { defineConfig } from "vitest/config";

// Two projects: `unit` needs no servers (pure code, beside the sources; the repository's own
// architecture in tests/architecture);
// `integration` talks to the real servers of the local stack (infra/stack.sh).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "tests/architecture/**/*.test.ts"],
          environment: "node",
        },
      },
      {
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
    ],
  },
});
