/** The console API's error catalogue: a stable code, its HTTP status and what it means (docs/console.md lists the same). */
export const CONSOLE_ERRORS = {
  UNAUTHORIZED: { status: 401, message: "a read key is required: Authorization: Bearer <key>" },
  FORBIDDEN: { status: 403, message: "this key has no read scope" },
  NOT_FOUND: { status: 404, message: "no such page or resource" },
  METHOD_NOT_ALLOWED: { status: 405, message: "the console is read-only: use GET" },
  INVALID_PARAMETER: { status: 400, message: "a query parameter is malformed or out of its bounds" },
  INVALID_PATH: { status: 400, message: "the request target is not a valid path" },
  UPSTREAM_UNAVAILABLE: { status: 502, message: "ClickHouse or the customer API did not answer" },
  INTERNAL: { status: 500, message: "internal error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERRORS;

export class ConsoleError extends Error {
  readonly status: number;
  constructor(
    readonly code: ConsoleErrorCode,
    detail?: string,
  ) {
    super(detail ?? CONSOLE_ERRORS[code].message);
    this.name = "ConsoleError";
    this.status = CONSOLE_ERRORS[code].status;
  }
}
