import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parser } from "@prometheus-io/lezer-promql";
import { parse as parseYaml } from "yaml";

/**
 * The PromQL of the alert rules and of the Grafana dashboard, and the metric names each reads, for
 * the tests that hold both to what the services expose. Parsed with Prometheus' own PromQL grammar
 * (@prometheus-io/lezer-promql, the parser behind its web UI), not a regex: label names, function
 * names, `by (...)` lists and string literals are never taken for metric names.
 */
export const ALERTS_FILE = fileURLToPath(new URL("./alerts.yml", import.meta.url));
export const ALERT_TESTS_FILE = fileURLToPath(new URL("./alerts.test.yml", import.meta.url));
export const DASHBOARD_FILE = fileURLToPath(new URL("../grafana/dashboards/clm.json", import.meta.url));

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(file = ALERTS_FILE): AlertRule[] {
  const document = parseYaml(readFileSync(file, "utf8")) as { groups: { name: string; rules: AlertRule[] }[] };
  return document.groups.flatMap((group) => group.rules);
}

/** Grafana template variables in an expression ($__rate_interval, ${datasource} …) replaced by what PromQL can parse. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, "5m").replace(/\$\{?\w+\}?/g, ".*");
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every panel target's expression in the dashboard, with the panel's title. */
export function dashboardExpressions(file = DASHBOARD_FILE): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(file, "utf8")) as { panels: Panel[] };
  const walk = (panels: Panel[]): { panel: string; expr: string }[] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).filter((target) => target.expr !== undefined).map((target) => ({ panel: panel.title ?? "", expr: target.expr! })),
      ...walk(panel.panels ?? []),
    ]);
  return walk(dashboard.panels);
}

export interface ParsedExpression {
  metrics: string[];
  /** Offsets of the parser's error nodes: empty for valid PromQL. */
  errors: number[];
}

/** Metric names read by an expression: the name of each vector selector. */
export function parsePromql(expr: string): ParsedExpression {
  const metrics = new Set<string>();
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      if (node.name === "VectorSelector") {
        const name = node.node.getChild("Identifier");
        if (name) metrics.add(expr.slice(name.from, name.to));
      }
    },
  });
  return { metrics: [...metrics].sort(), errors };
}

/** The metric families an exposition (the /metrics text) declares: every `# TYPE name type` line. */
export function exposedFamilies(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1]!, match[2]!);
  return families;
}

/** The series names a family of the given type stands for (a histogram: _bucket, _sum and _count). */
export function seriesNames(family: string, type: string): string[] {
  if (type === "histogram") return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
  if (type === "summary") return [family, `${family}_sum`, `${family}_count`];
  return [family];
}
