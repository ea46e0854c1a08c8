import { writeFileSync } from "node:fs";

// Node built-ins only: bench/profile-preload.ts loads this into a service process, whose heap and
// start-up the profiles measure.

/** A CPU profile of this process over one phase only (open the file in Chrome DevTools or speedscope). */
export async function startCpuProfile(): Promise<{ stop(path: string): Promise<void> }> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return {
    async stop(path) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * Where a phase allocates: V8's sampling heap profiler, keeping samples of objects the GC already
 * collected (young garbage is what scavenges pay for). Open the .heapprofile in Chrome DevTools.
 */
export async function startAllocationProfile(): Promise<{ stop(path: string): Promise<void> }> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stop(path) {
      const { profile } = await session.post("HeapProfiler.stopSampling");
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
