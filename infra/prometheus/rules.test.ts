import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { ALERT_TESTS_FILE, ALERTS_FILE, DASHBOARD_FILE, alertRules, dashboardExpressions, parsePromql, withoutGrafanaVariables } from "./promql.ts";

/**
 * The alert rules and the dashboard, checked without servers: promtool (from Debian's prometheus
 * package, which `infra/stack.sh install prometheus` installs; scripts/test.sh runs it) validates the
 * rules and runs their unit tests; every rule has a severity and a runbook section; every PromQL
 * expression parses. That the metrics they read exist is checked against the running services in
 * tests/integration/prometheus-alerts.test.ts.
 */
const OPERATIONS_DOC = fileURLToPath(new URL("../../docs/operations.md", import.meta.url));

function promtool(): string {
  const found = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" }).stdout.trim();
  if (found !== "") return found;
  if (existsSync("/usr/bin/promtool")) return "/usr/bin/promtool";
  throw new Error("promtool not found: run `bash infra/stack.sh install prometheus` (scripts/test.sh does)");
}

const run = (args: string[]) => {
  const result = spawnSync(promtool(), args, { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};

const rules = alertRules();

describe("alert rules (infra/prometheus/alerts.yml)", () => {
  it("pass `promtool check rules`", () => {
    const result = run(["check", "rules", ALERTS_FILE]);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });

  it("pass their unit tests (`promtool test rules alerts.test.yml`)", () => {
    const result = run(["test", "rules", ALERT_TESTS_FILE]);
    expect(result.output, result.output).toContain("SUCCESS");
    expect(result.status).toBe(0);
  });

  it("are each tested firing and not firing", () => {
    const tests = parseYaml(readFileSync(ALERT_TESTS_FILE, "utf8")) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of rules) {
      expect(cases.some((entry) => entry.alertname === alert && (entry.exp_alerts ?? []).length > 0), `${alert} fires in a test`).toBe(true);
      expect(cases.some((entry) => entry.alertname === alert && (entry.exp_alerts ?? []).length === 0), `${alert} stays silent in a test`).toBe(true);
    }
  });

  it("have unique names, a severity, a summary and a runbook section in docs/operations.md", () => {
    const doc = readFileSync(OPERATIONS_DOC, "utf8");
    const headings = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((match) => match[1]!.trim()));
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Clm[A-Z][A-Za-z]+$/);
      expect(["critical", "warning"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      // GitHub's anchor of a heading "### ClmSinkBufferFull" is #clmsinkbufferfull.
      expect(rule.annotations?.runbook).toBe(`docs/operations.md#${rule.alert.toLowerCase()}`);
      expect(headings.has(rule.alert), `docs/operations.md has a heading "${rule.alert}"`).toBe(true);
    }
  });

  it("are valid PromQL, each reading metrics of the pipeline", () => {
    for (const rule of rules) {
      const parsed = parsePromql(rule.expr);
      expect(parsed.errors, `${rule.alert}: ${rule.expr}`).toEqual([]);
      expect(parsed.metrics.length, rule.alert).toBeGreaterThan(0);
    }
  });

  it("run in the stack with the test profile: every `for:` replaced, nothing else", () => {
    // The same sed expression infra/stack.sh applies for CLM_PROMETHEUS_ALERT_FOR.
    const fast = execFileSync("sed", ["-E", "s/^([[:space:]]*for:[[:space:]]*).*/\\110s/", ALERTS_FILE], { encoding: "utf8" });
    const original = parseYaml(readFileSync(ALERTS_FILE, "utf8")) as unknown;
    const parsed = parseYaml(fast) as { groups: { rules: { for?: string }[] }[] };
    for (const rule of parsed.groups.flatMap((group) => group.rules)) expect(rule.for).toBe("10s");
    for (const group of parsed.groups) for (const rule of group.rules) delete rule.for;
    for (const group of (original as typeof parsed).groups) for (const rule of group.rules) delete rule.for;
    expect(parsed).toEqual(original);
  });
});

describe("docker-compose's Prometheus config (infra/prometheus/prometheus.compose.yml)", () => {
  it("passes `promtool check config` with the rules file where compose mounts it", () => {
    const dir = mkdtempSync(join(tmpdir(), "clm-prometheus-config-"));
    try {
      const config = readFileSync(fileURLToPath(new URL("./prometheus.compose.yml", import.meta.url)), "utf8");
      expect(config).toContain("/etc/prometheus/alerts.yml");
      writeFileSync(join(dir, "prometheus.yml"), config.replace("/etc/prometheus/alerts.yml", ALERTS_FILE));
      const result = run(["check", "config", join(dir, "prometheus.yml")]);
      expect(result.output, result.output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Grafana dashboard (infra/grafana/dashboards/clm.json)", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as {
    uid: string;
    schemaVersion: number;
    templating: { list: { name: string; type: string; query: string }[] };
    panels: { type: string; title: string; datasource?: { type: string; uid: string }; targets?: { datasource?: { uid: string }; expr: string }[] }[];
  };

  it("reads Prometheus through the datasource variable, in every panel and query", () => {
    expect(dashboard.uid).toBe("clm-pipeline");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: "datasource", type: "datasource", query: "prometheus" }));
    const queried = dashboard.panels.filter((panel) => panel.type !== "row");
    expect(queried.length).toBeGreaterThanOrEqual(10);
    for (const panel of queried) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe("${datasource}");
    }
  });

  it("has valid PromQL in every query, each reading metrics", () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(0);
    for (const { panel, expr } of expressions) {
      const parsed = parsePromql(withoutGrafanaVariables(expr));
      expect(parsed.errors, `${panel}: ${expr}`).toEqual([]);
      expect(parsed.metrics.length, `${panel}: ${expr}`).toBeGreaterThan(0);
    }
  });

  it("uses histogram_quantile over _bucket series only", () => {
    for (const { panel, expr } of dashboardExpressions()) {
      if (!expr.includes("histogram_quantile")) continue;
      for (const metric of parsePromql(withoutGrafanaVariables(expr)).metrics) expect(metric, panel).toMatch(/_bucket$/);
    }
  });
});

describe("parsePromql", () => {
  it("takes metric names from selectors, not label names, functions or strings", () => {
    const parsed = parsePromql('sum by (job, le) (rate(a_total{route!~"metrics|b_total"}[5m])) / on (job) group_left max(b{x="c"}) unless up offset 5m');
    expect(parsed).toEqual({ metrics: ["a_total", "b", "up"], errors: [] });
    expect(parsePromql("sum(rate(x[5m]").errors.length).toBeGreaterThan(0);
  });
});
