/**
 * Loaded into a service process by a bench (node --import) to profile one phase of it, from the
 * process's inside: CLM_BENCH_CPU_PROFILE=<file> starts a CPU profile and
 * CLM_BENCH_ALLOCATION_PROFILE=<file> a sampling allocation profile (keeping what the GC already
 * collected) as the process starts. The bench sends SIGUSR2 at the end of the phase; the profiles
 * are written then, and the process says so on stderr ("bench profiles written").
 */
import { startAllocationProfile, startCpuProfile } from "./profiles.ts";

const cpuFile = process.env.CLM_BENCH_CPU_PROFILE;
const allocationFile = process.env.CLM_BENCH_ALLOCATION_PROFILE;
const cpu = cpuFile ? await startCpuProfile() : null;
const allocations = allocationFile ? await startAllocationProfile() : null;
process.once("SIGUSR2", () => {
  void (async () => {
    if (cpu) await cpu.stop(cpuFile!);
    if (allocations) await allocations.stop(allocationFile!);
    process.stderr.write("bench profiles written\n");
  })();
});
