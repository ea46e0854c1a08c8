// ECharts, only the parts the pages draw (tree-shaken by esbuild): heatmaps, lines, stacked areas, bars.
import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, HeatmapChart, LineChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export type Chart = echarts.ECharts;
export type ChartOption = echarts.EChartsCoreOption;

/** The charts on the page by name, for the browser test's hover (window.clmConsole.charts). */
export const charts = new Map<string, Chart>();

/** Draws a chart into `element` without animation (the page is "rendered" once setOption returns). */
export function drawChart(name: string, element: HTMLElement, option: ChartOption): Chart {
  charts.get(name)?.dispose();
  const chart = echarts.init(element, undefined, { renderer: "canvas" });
  const tooltip = { className: "clm-tooltip", confine: true, ...(option.tooltip as object | undefined) };
  chart.setOption({ animation: false, ...option, tooltip });
  charts.set(name, chart);
  return chart;
}

window.addEventListener("resize", () => {
  for (const chart of charts.values()) chart.resize();
});

export const STAGE_COLORS: Record<string, string> = {
  prospect: "#9aa4b2",
  new: "#7cb5ec",
  active: "#2f6fde",
  loyal: "#1b9e77",
  at_risk: "#f0a202",
  churned: "#d1495b",
  won_back: "#7b5ea7",
};

export const TIER_COLORS: Record<string, string> = {
  high_value: "#1b9e77",
  potential: "#2f6fde",
  base: "#9aa4b2",
  warning: "#f0a202",
};
