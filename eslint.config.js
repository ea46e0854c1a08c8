import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
    // The lifecycle core is pure: no I/O clients, no Node built-ins, no wall clock.
    files: ["packages/core/src/**/*.ts"],
    ignores: ["packages/core/src/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
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
