import {
  KafkaJSConnectionError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from "kafkajs";
import { describe, expect, it } from "vitest";
import { isBrokerUnavailable } from "./consumer-supervision.ts";

// The errors as kafkajs builds them (its retrier wraps the cause of a give-up in another error).
// Its type declarations lag the constructors, which take a message or error and { cause, retriable }.
type KafkaJSErrorClass = new (message: unknown, options?: object) => Error;
const build = (Class: unknown, message: unknown, options?: object): Error => new (Class as KafkaJSErrorClass)(message, options);

describe("isBrokerUnavailable", () => {
  it("is true for an unreachable or not-ready broker, however deep kafkajs wrapped it", () => {
    const coordinator = build(KafkaJSGroupCoordinatorNotFound, "Failed to find group coordinator");
    expect(isBrokerUnavailable(coordinator)).toBe(true);
    expect(isBrokerUnavailable(build(KafkaJSNonRetriableError, coordinator, { cause: coordinator }))).toBe(true);
    const refused = build(KafkaJSConnectionError, "Connection error: connect ECONNREFUSED 127.0.0.1:19092");
    expect(isBrokerUnavailable(build(KafkaJSNumberOfRetriesExceeded, refused, { retryCount: 5, retryTime: 1000, cause: refused }))).toBe(true);
    expect(isBrokerUnavailable(build(KafkaJSNonRetriableError, refused, { cause: refused }))).toBe(true);
    // "The coordinator is loading": a retriable answer of a starting broker.
    const loading = build(KafkaJSProtocolError, { type: "COORDINATOR_LOAD_IN_PROGRESS", code: 14, retriable: true, message: "The coordinator is loading" });
    expect(isBrokerUnavailable(loading)).toBe(true);
  });

  it("is false for errors of the code or the data", () => {
    expect(isBrokerUnavailable(new RangeError("Maximum call stack size exceeded"))).toBe(false);
    expect(isBrokerUnavailable(new TypeError("Cannot read properties of undefined"))).toBe(false);
    const poison = new Error("unexpected Redis reply");
    expect(isBrokerUnavailable(build(KafkaJSNonRetriableError, poison, { cause: poison }))).toBe(false);
    const tooLarge = build(KafkaJSProtocolError, { type: "MESSAGE_TOO_LARGE", code: 10, retriable: false, message: "The request included a message larger than the max message size the server will accept" });
    expect(isBrokerUnavailable(tooLarge)).toBe(false);
    expect(isBrokerUnavailable("not an error")).toBe(false);
  });

  it("stops at a cycle in the causes", () => {
    const first = new Error("first") as Error & { cause?: unknown };
    const second = new Error("second", { cause: first });
    first.cause = second;
    expect(isBrokerUnavailable(first)).toBe(false);
  });
});
