import { connect } from "node:net";

export interface RawAnswer {
  /** The final (non-1xx) status, or null when the server sent none. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (before the timeout). */
  closed: boolean;
  ms: number;
}

/**
 * Sends bytes exactly as given over TCP and reads one answer: fetch cannot send malformed
 * request targets, truncated bodies or lying headers. Returns once a whole response
 * (by Content-Length) has arrived (or, with `untilClose`, once the server also closed the
 * connection), the server closed the connection, or `timeoutMs` passed.
 */
export function rawRequest(port: number, bytes: string | Buffer, options: { timeoutMs?: number; host?: string; untilClose?: boolean } = {}): Promise<RawAnswer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect(port, options.host ?? "127.0.0.1", () => socket.write(bytes));
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(received), closed, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!options.untilClose && isComplete(received)) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
  });
}

/** The head and body of the first final response in `data` (1xx interim responses are skipped). */
function finalResponse(data: Buffer): { head: string; body: Buffer } | null {
  let rest = data;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) return null;
    const head = rest.subarray(0, end).toString("latin1");
    rest = rest.subarray(end + 4);
    if (!/^HTTP\/1\.[01] 1\d\d/.test(head)) return { head, body: rest };
  }
}

function isComplete(data: Buffer): boolean {
  const response = finalResponse(data);
  if (response === null) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(response.head);
  if (length !== null) return response.body.length >= Number(length[1]);
  return /\r\ntransfer-encoding:\s*chunked/i.test(response.head) && response.body.includes("0\r\n\r\n");
}

function parseAnswer(data: Buffer): Pick<RawAnswer, "status" | "headers" | "body"> {
  const response = finalResponse(data);
  if (response === null) return { status: null, headers: {}, body: "" };
  const [statusLine = "", ...lines] = response.head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  return { status: status ? Number(status[1]) : null, headers, body: response.body.toString("utf8") };
}

/** The JSON error code of an answer, or null when its body is not a JSON error. */
export function errorCodeOf(answer: Pick<RawAnswer, "body">): string | null {
  try {
    const parsed = JSON.parse(answer.body) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === "string" ? parsed.error.code : null;
  } catch {
    return null;
  }
}
