// The harness shared by the integration tests and the benches: isolated configs, the services as
// child processes, topics, producing and reading them, and the clean-up of a run. No test runner in
// here (vitest hooks stay in tests/integration/support), so a bench can use all of it.
export { grownConfig, isolatedConfig } from "./isolated-config.ts";
export { createTopics, deleteSubjects, deleteTopics, produceEvents, readTopic, testKafka } from "./kafka.ts";
export { envOf, startService, type RunningService } from "./service-process.ts";
export { tearDownRun } from "./tear-down.ts";
export { testLogger } from "./test-logger.ts";
export { waitFor } from "./wait-for.ts";
export { freePort } from "./free-port.ts";
export { clusterMember, clusterStackDir, redisMasterMemberFor, type ClusterMember, type ClusterMemberName } from "./cluster-member.ts";
export { advanceClock, sendThroughIngest, startPipeline, waitCaughtUp, type PipelineProcesses } from "./pipeline-run.ts";
export { CHROMIUM, CHROMIUM_ARGS, launchChromium, type Browser } from "./browser.ts";
