import { describe, expect, it } from "vitest";
import { RedisLayout } from "./redis-layout.ts";

describe("RedisLayout.parseKey", () => {
  const layout = new RedisLayout("clm");

  it("reads back every partition key the layout writes, ids with any character included", () => {
    for (const customerId of ["42", "a:b", "{p3}:c:x", "ü-7", "c:"]) {
      expect(layout.parseKey(layout.customer(11, customerId))).toEqual({ kind: "customer", partition: 11, customerId });
      expect(layout.parseKey(layout.history(0, customerId))).toEqual({ kind: "history", partition: 0, customerId });
    }
    expect(layout.parseKey(layout.audienceMembers(2, "big-spenders"))).toEqual({ kind: "members", partition: 2, audienceId: "big-spenders" });
    expect(layout.parseKey(layout.meta(7))).toEqual({ kind: "meta", partition: 7 });
    expect(layout.parseKey(layout.timers(7))).toEqual({ kind: "timers", partition: 7 });
    expect(layout.parseKey(layout.outbox(1023))).toEqual({ kind: "outbox", partition: 1023 });
  });

  it("calls the keys outside every partition shared", () => {
    for (const key of [layout.valueModelVersions(), layout.valueModelCurrent(), layout.audienceVersions(), layout.audienceCurrent(), layout.audienceSequence(), layout.growths(), "clm:rfm:boundaries", "clm:webhooks:d:x:lane:3"]) {
      expect(layout.parseKey(key)).toEqual({ kind: "shared" });
    }
  });

  it("marks partition keys it does not define as unknown, and keys of other prefixes as not its own", () => {
    expect(layout.parseKey("clm:{p3}:queue")).toEqual({ kind: "unknown", partition: 3 });
    expect(layout.parseKey("clm:{p3}:metadata")).toEqual({ kind: "unknown", partition: 3 });
    expect(layout.parseKey("clm:{p3}:c:")).toEqual({ kind: "unknown", partition: 3 });
    expect(layout.parseKey("clm:{p03}:meta")).toEqual({ kind: "unknown", partition: null });
    expect(layout.parseKey("clm:{x}:meta")).toEqual({ kind: "unknown", partition: null });
    expect(layout.parseKey(layout.audienceVersions())).toEqual({ kind: "shared" });
    expect(layout.parseKey("clm-8:{p3}:meta")).toBeNull();
    expect(layout.parseKey("clmx:rfm:boundaries")).toBeNull();
  });

  it("globs the partitions' keys apart from the shared ones", () => {
    expect(layout.partitionsPattern()).toBe("clm:{p*}:*");
    expect(layout.pattern()).toBe("clm:*");
  });
});
