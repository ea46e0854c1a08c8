/**
 * The console's pages. Every page is the same shell (index.html); this script draws the one the path
 * names, then marks the document rendered (data-rendered and the performance mark "clm-rendered"),
 * which the browser test waits for and the bench measures navigation start against.
 */
import { session } from "./api.ts";
import { charts } from "./charts.ts";
import { el } from "./dom.ts";
import { renderCohorts } from "./pages/cohorts.ts";
import { renderCustomer } from "./pages/customer.ts";
import { renderLogin } from "./pages/login.ts";
import { renderStages } from "./pages/stages.ts";
import { renderValue } from "./pages/value.ts";

export interface Page {
  path: string;
  title: string;
  render: (main: HTMLElement, params: URLSearchParams) => Promise<void>;
}

/** The pages in the navigation, in its order; each path is also in the server's PAGES. */
const PAGES: readonly Page[] = [
  { path: "/cohorts", title: "Cohorts", render: renderCohorts },
  { path: "/stages", title: "Stages", render: renderStages },
  { path: "/value", title: "Value", render: renderValue },
  { path: "/customers", title: "Customers", render: renderCustomer },
];

declare global {
  interface Window {
    clmConsole: { charts: typeof charts };
  }
}
window.clmConsole = { charts };

function markRendered(outcome: "true" | "error"): void {
  document.documentElement.dataset.rendered = outcome;
  performance.mark("clm-rendered");
}

async function start(): Promise<void> {
  const main = document.getElementById("main")!;
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  if (path === "/login") {
    renderLogin(main, params);
    return markRendered("true");
  }
  if (session.key() === null) return location.assign(`/login?next=${encodeURIComponent(path + location.search)}`);
  const page = PAGES.find((candidate) => candidate.path === path) ?? PAGES[0]!;
  const nav = document.getElementById("nav")!;
  nav.replaceChildren(...PAGES.map((candidate) => el("a", { href: candidate.path, ...(candidate === page ? { "aria-current": "page" } : {}) }, candidate.title)));
  const logout = document.getElementById("logout")!;
  logout.hidden = false;
  logout.addEventListener("click", () => {
    session.clear();
    location.assign("/login");
  });
  document.title = `${page.title} · clm console`;
  main.replaceChildren();
  try {
    await page.render(main, params);
    markRendered("true");
  } catch (error) {
    main.append(el("p", { class: "error", role: "alert" }, `Could not load this page: ${(error as Error).message}`));
    markRendered("error");
  }
}

void start();
