import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The boundaries in eslint.config.js, proven on small snippets linted as if they were files at the
 * given places (ESLint's Node API with the project's own config; nothing is written to disk).
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

const BOUNDARY_RULES = new Set(["import-x/no-restricted-paths", "import-x/no-relative-packages", "no-restricted-imports"]);

/** What the boundary rules say about `code` at `filePath` (other rules, e.g. unused imports, are not the point here). */
async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((message) => message.fatal === true || BOUNDARY_RULES.has(message.ruleId ?? "")).map((message) => `${message.ruleId}: ${message.message}`);
}

describe("import boundaries (npx eslint .)", () => {
  it.each([
    ["a service, by name", "services/ingest/src/probe.ts", `import { StateStore } from "@clm/processor";`],
    ["a service, types only", "services/ingest/src/probe.ts", `import type { Sink } from "@clm/sink";`],
    ["a service, by a relative path", "services/ingest/src/probe.ts", `import { StateStore } from "../../processor/src/state-store.ts";`],
    ["a service, from a package", "packages/cli/src/commands/probe.ts", `import { migrate } from "@clm/sink";`],
    ["a service, from a script", "scripts/probe.ts", `import { Processor } from "@clm/processor";`],
    ["a service, from a bench", "bench/probe.ts", `import { Processor } from "@clm/processor";`],
    ["a service, re-exported", "packages/testkit/src/probe.ts", `export { EventPublisher } from "@clm/ingest";`],
    ["the modeler, from the CLI", "packages/cli/src/commands/probe.ts", `import { Modeler } from "@clm/modeler";`],
    ["the modeler, from another service", "services/processor/src/probe.ts", `import { firstFitDelay } from "@clm/modeler";`],
    ["the webhook service, from the CLI", "packages/cli/src/commands/probe.ts", `import { DestinationWorker } from "@clm/webhooks";`],
    ["test helpers, from a bench", "bench/probe.ts", `import { waitFor } from "../tests/integration/support/pipeline.ts";`],
  ])("refuses %s", async (_what, filePath, code) => {
    const found = await problems(filePath, code);
    expect(found.some((problem) => problem.startsWith("import-x/no-restricted-paths:")), found.join("\n")).toBe(true);
  });

  it("refuses a relative path into another workspace's folder", async () => {
    expect(await problems("services/sink/src/probe.ts", `import { viewAt } from "../../../packages/core/src/view.ts";`)).toEqual([
      expect.stringMatching(/^import-x\/no-relative-packages:/),
    ]);
    expect(await problems("packages/cli/src/probe.ts", `import { partitionForKey } from "../../kafka/src/partitioner.ts";`)).toEqual([
      expect.stringMatching(/^import-x\/no-relative-packages:/),
    ]);
  });

  it.each([
    ["services/sink/src/probe.ts", `import { viewAt } from "@clm/core/src/view.ts";`],
    ["packages/core/src/probe.ts", `import { readCdnowFile } from "@clm/datasets/src/cdnow.ts";`],
    ["tests/integration/probe.test.ts", `import { COMMIT_SCRIPT } from "@clm/processor/src/lua.ts";`],
    ["scripts/probe.ts", `import { RedisLayout } from "@clm/state-store/src/redis-layout.ts";`],
  ])("refuses a deep import of a package's files (%s)", async (filePath, code) => {
    expect(await problems(filePath, code)).toEqual([expect.stringMatching(/^no-restricted-imports: .*import is restricted/)]);
  });

  it("gives ingest the state reader, not the writes of @clm/state-store/admin", async () => {
    expect(await problems("services/ingest/src/probe.ts", `import { wipePrefix } from "@clm/state-store/admin";`)).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*Ingest only reads/),
    ]);
    expect(await problems("services/processor/src/probe.ts", `import { wipePrefix } from "@clm/state-store/admin";`)).toEqual([]);
  });

  it.each([
    ["a package from a service", "services/ingest/src/probe.ts", `import { viewAt } from "@clm/core";\nimport { StateReader } from "@clm/state-store";`],
    ["a file of the same workspace", "services/ingest/src/probe.ts", `import { CustomerReader } from "./customer-api.ts";`],
    ["an exported entry point", "scripts/probe.ts", `import { RfmBoundaryStore } from "@clm/state-store/admin";`],
    ["a service, from its tests", "tests/integration/probe.test.ts", `import { Processor } from "@clm/processor";\nimport { Sink } from "@clm/sink";`],
    ["the harness, from a bench", "bench/probe.ts", `import { startService } from "@clm/testkit";`],
    ["the value-model package, from the CLI and the modeler", "packages/cli/src/commands/probe.ts", `import { fitFromClickHouse } from "@clm/value-model";`],
    ["the destinations package, from the CLI and the webhook service", "packages/cli/src/commands/probe.ts", `import { DestinationStore, DeliveryQueue } from "@clm/destinations";`],
    ["the value-model package, from the modeler", "services/modeler/src/probe.ts", `import { publishValueModel } from "@clm/value-model";\nimport { storeValueModel } from "@clm/state-store/admin";`],
  ])("allows %s", async (_what, filePath, code) => {
    expect(await problems(filePath, code)).toEqual([]);
  });
});
