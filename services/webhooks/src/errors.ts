/** The destinations API's error catalogue: a stable code, its HTTP status and what it means (docs/marketing.md lists the same). */
export const WEBHOOKS_API_ERRORS = {
  UNAUTHORIZED: { status: 401, message: "an admin key is required: Authorization: Bearer <key>" },
  FORBIDDEN: { status: 403, message: "this key has no admin scope (INGEST_ADMIN_API_KEYS)" },
  NOT_FOUND: { status: 404, message: "no such route or destination" },
  METHOD_NOT_ALLOWED: { status: 405, message: "the route does not take this method" },
  INVALID_BODY: { status: 400, message: "the body is not valid JSON or does not match the schema" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "send the body as application/json" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "the body is larger than 1 MiB" },
  INTERNAL: { status: 500, message: "internal error; see the service's log" },
} as const satisfies Record<string, { status: number; message: string }>;

export type WebhooksApiErrorCode = keyof typeof WEBHOOKS_API_ERRORS;

export class WebhooksApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: WebhooksApiErrorCode,
    detail?: string,
    readonly issues?: unknown,
  ) {
    super(detail ?? WEBHOOKS_API_ERRORS[code].message);
    this.name = "WebhooksApiError";
    this.status = WEBHOOKS_API_ERRORS[code].status;
  }
}
