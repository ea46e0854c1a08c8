import { createInputEventSchema, parseInputEvent } from "@clm/core";
import { describe, expect, it } from "vitest";
import { toInputEventJson } from "./input-event-json.ts";
import { syntheticEvents } from "./synthetic.ts";

describe("toInputEventJson", () => {
  it("is the inverse of the ingest contract's parser for every kind of synthetic event", () => {
    const schema = createInputEventSchema({ reportingCurrency: "USD" });
    const events = syntheticEvents({ seed: 7, events: 3000 });
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(["purchase", "login", "support"]));
    for (const event of events) {
      const parsed = parseInputEvent(schema, JSON.parse(JSON.stringify(toInputEventJson(event))));
      expect(parsed).toEqual({ ok: true, event });
    }
  });
});
