/** The console's JSON API with the key the viewer logged in with (sessionStorage; see docs/console.md). */
const KEY = "clm-console-key";

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** GET with the session's key (a 401 sends the viewer to the login page), or with `key` to try one (the login page). */
export async function getJson<T>(path: string, key?: string): Promise<T> {
  const used = key ?? session.key();
  const response = await fetch(path, { headers: used === null ? {} : { authorization: `Bearer ${used}` } });
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (response.status === 401 && key === undefined) {
    session.clear();
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  if (!response.ok) throw new ApiError(response.status, body.error?.code ?? "HTTP", body.error?.message ?? `HTTP ${response.status}`);
  return body as T;
}

export function query(params: Record<string, string | null | undefined>): string {
  const entries = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== null && entry[1] !== undefined && entry[1] !== "");
  return entries.length === 0 ? "" : `?${new URLSearchParams(entries).toString()}`;
}
