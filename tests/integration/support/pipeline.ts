import { execFileSync } from "node:child_process";

/** Helpers for integration tests against the real servers of the local stack (most live in @clm/testkit, shared with the benches). */
export { createTopics, deleteSubjects, deleteTopics, grownConfig, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "@clm/testkit";

/** Runs `infra/stack.sh` with these arguments (fault tests stop and start servers of the local stack). */
export function stack(...args: string[]): void {
  execFileSync("bash", ["infra/stack.sh", ...args], { stdio: "pipe", timeout: 180_000 });
}
