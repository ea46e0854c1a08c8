/**
 * Every error the ingest API answers with: a stable code, its HTTP status and a
 * message. docs/ingest.md lists the same catalogue (a test keeps them in sync).
 */
export const INGEST_ERRORS = {
  MALFORMED_REQUEST: { status: 400, message: "the request is not valid HTTP/1.1" },
  INVALID_PATH: { status: 400, message: "the request target is not a valid path" },
  INVALID_PARAMETER: { status: 400, message: "a query parameter is outside its documented range" },
  UNAUTHORIZED: { status: 401, message: "missing or unknown API key: send Authorization: Bearer <key>" },
  FORBIDDEN: { status: 403, message: "the API key is valid but lacks the scope this request needs" },
  NOT_FOUND: { status: 404, message: "no such resource" },
  METHOD_NOT_ALLOWED: { status: 405, message: "method not allowed on this resource" },
  REQUEST_TIMEOUT: { status: 408, message: "the request did not arrive in time" },
  BODY_TOO_LARGE: { status: 413, message: "request body exceeds the byte limit" },
  BATCH_TOO_LARGE: { status: 413, message: "request holds more events than the batch limit" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "send application/json (an array of events) or application/x-ndjson (one event per line)" },
  UNSUPPORTED_CHARSET: { status: 415, message: "send the body in UTF-8 (charset=utf-8, or no charset)" },
  UNSUPPORTED_CONTENT_ENCODING: { status: 415, message: "send the body plain (identity) or gzip-compressed (Content-Encoding: gzip)" },
  EXPECTATION_FAILED: { status: 417, message: "the only expectation this server meets is Expect: 100-continue" },
  HEADERS_TOO_LARGE: { status: 431, message: "the request headers exceed the server's limit" },
  INVALID_BODY: { status: 400, message: "the body is not valid JSON / NDJSON" },
  INVALID_AS_OF: { status: 400, message: "asOf must be an ISO-8601 instant with an offset, e.g. 1998-07-01T00:00:00Z" },
  AS_OF_BEFORE_STATE: { status: 400, message: "asOf is earlier than the instant the customer's state is evaluated through: it cannot be answered from the current state" },
  INVALID_CLOCK_ADVANCE: { status: 400, message: 'send {"to": "<ISO-8601 instant with an offset, not in the future>"}' },
  CLOCK_NOT_EVENT_TIME: { status: 409, message: "the pipeline runs on the wall clock (CLOCK_MODE=wall); only an event-time pipeline's clock can be advanced" },
  INVALID_AUDIENCE: { status: 400, message: "the audience definition is not valid: see errors (each with its field path and code)" },
  AUDIENCE_EXISTS: { status: 409, message: "an audience with this id exists already: PUT /v1/audiences/{id} replaces it" },
  INVALID_CURSOR: { status: 400, message: "cursor is not one this API handed out (pass the previous page's nextCursor unchanged)" },
  INVALID_UTF8: { status: 400, message: "the body is not valid UTF-8" },
  INVALID_COMPRESSION: { status: 400, message: "the body is not the gzip data its Content-Encoding declares" },
  KAFKA_UNAVAILABLE: { status: 503, message: "events could not be stored right now; nothing was accepted, retry later" },
  REDIS_REPLICAS_BEHIND: { status: 503, message: "Redis's replicas did not confirm the stored audience definitions in time, so they were not activated; retry later" },
  KAFKA_REJECTED: { status: 500, message: "Kafka refuses these records as they are: the request is not accepted, and sending it again fails the same way until the topic's limits change" },
} as const;

export type IngestErrorCode = keyof typeof INGEST_ERRORS;

/** One problem of a request body, with the field it is about and a stable code. */
export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

export class IngestError extends Error {
  readonly status: number;
  constructor(
    readonly code: IngestErrorCode,
    detail?: string,
    readonly errors?: readonly FieldProblem[],
  ) {
    super(detail ? `${INGEST_ERRORS[code].message}: ${detail}` : INGEST_ERRORS[code].message);
    this.status = INGEST_ERRORS[code].status;
  }
}
