/** Services as real processes: the harness is @clm/testkit's, shared with the benches. */
export { envOf, freePort, startService, type RunningService } from "@clm/testkit";
