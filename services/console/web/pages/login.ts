import { getJson, session } from "../api.ts";
import { el } from "../dom.ts";

/**
 * The login page: the key is checked against the API, then kept in this tab's sessionStorage and sent
 * as a Bearer header by every API call (docs/console.md says why not a cookie).
 */
export function renderLogin(main: HTMLElement, params: URLSearchParams): void {
  const input = el("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: "" });
  const message = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "card login" }, el("h1", {}, "Sign in"), el("p", { class: "muted" }, "A read key of the pipeline (one of INGEST_READ_API_KEYS; on a local stack without keys, clm-dev-key)."), el("label", { for: "key" }, "Read key"), input, el("p", {}, el("button", { type: "submit" }, "Open the console")), message);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    void getJson("/api/range", key).then(
      () => {
        session.set(key);
        const next = params.get("next") ?? "/cohorts";
        location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/cohorts");
      },
      (error: Error) => (message.textContent = `Not accepted: ${error.message}`),
    );
  });
  main.replaceChildren(form);
  input.focus();
}
