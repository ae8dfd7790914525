/**
 * Campaign charts: vega-lite specs built from the run's data (pure), rendered headless by vega to
 * SVG and by resvg to PNG. Both renderers ship inside their npm packages; nothing is fetched.
 */
import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { HistoryRow } from "./locust-csv.js";
import type { Series } from "./prometheus.js";

const WIDTH = 720;
const HEIGHT = 300;
const FONT = "DejaVu Sans";
const FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

export type Spec = TopLevelSpec;

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Renders a vega-lite spec to PNG (white background, twice the nominal size for sharpness). */
export async function renderPng(spec: Spec): Promise<Buffer> {
  const svg = await renderSvg(spec);
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: 2 },
    font: {
      loadSystemFonts: true,
      defaultFontFamily: FONT,
      ...(existsSync(FONT_FILE) ? { fontFiles: [FONT_FILE] } : {}),
    },
  });
  return resvg.render().asPng();
}

export async function renderSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const base = (title: string, subtitle?: string) => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: subtitle ? { text: title, subtitle } : { text: title },
  width: WIDTH,
  height: HEIGHT,
  config: { font: FONT, background: "white" },
});

const elapsedAxis = {
  field: "t",
  type: "quantitative" as const,
  title: "seconds since start",
  scale: { domainMin: 0 },
};
const legend = { orient: "bottom", columns: 2, labelLimit: 400 } as const;

/** Client-side percentiles of POST /order (Locust, 10 s window) and server-side ones (Prometheus). */
export interface LatencyPoint {
  readonly t: number;
  readonly ms: number;
  readonly percentile: "p50" | "p95" | "p99";
  readonly source: "client (Locust)" | "server (Prometheus)";
}

export function latencyPoints(
  orderHistory: readonly HistoryRow[],
  server: { readonly p50?: Series; readonly p95?: Series; readonly p99?: Series },
  start: number,
): LatencyPoint[] {
  const points: LatencyPoint[] = [];
  for (const row of orderHistory) {
    for (const [key, percentile] of [
      ["50%", "p50"],
      ["95%", "p95"],
      ["99%", "p99"],
    ] as const) {
      const ms = row.percentiles[key];
      if (ms !== undefined && row.totalRequests > 0)
        points.push({ t: row.timestamp - start, ms, percentile, source: "client (Locust)" });
    }
  }
  for (const percentile of ["p50", "p95", "p99"] as const) {
    for (const [t, v] of server[percentile]?.points ?? []) {
      points.push({
        t: round1(t - start),
        ms: round1(v * 1000),
        percentile,
        source: "server (Prometheus)",
      });
    }
  }
  return points;
}

export function latencySpec(
  points: readonly LatencyPoint[],
  title = "POST /order latency percentiles over time",
): Spec {
  return {
    ...base(title, "solid: client side (Locust, 10 s window); dashed: order-service (Prometheus)"),
    data: { values: [...points] },
    mark: { type: "line", interpolate: "monotone" },
    encoding: {
      x: elapsedAxis,
      y: { field: "ms", type: "quantitative", title: "milliseconds" },
      color: {
        field: "percentile",
        type: "nominal",
        title: "percentile",
        sort: ["p50", "p95", "p99"],
      },
      strokeDash: { field: "source", type: "nominal", title: "measured by" },
      detail: [{ field: "source" }, { field: "percentile" }],
    },
  } as Spec;
}

export interface ThroughputPoint {
  readonly t: number;
  readonly value: number;
  readonly series: string;
}

/** Users over time (Locust) against per-second rates: per service (Prometheus) and Locust's total. */
export function throughputPoints(
  aggregated: readonly HistoryRow[],
  rates: Readonly<Record<string, Series[]>>,
  start: number,
): {
  users: ThroughputPoint[];
  rates: ThroughputPoint[];
} {
  const users = aggregated.map((r) => ({
    t: r.timestamp - start,
    value: r.users,
    series: "users",
  }));
  const out: ThroughputPoint[] = [];
  for (const [label, seriesList] of Object.entries(rates)) {
    for (const s of seriesList) {
      const name = s.labels.service ? `${label}: ${s.labels.service}` : label;
      for (const [t, v] of s.points)
        out.push({ t: round1(t - start), value: round1(v), series: name });
    }
  }
  // Locust's own total, so the chart has a rate even where Prometheus could not be read.
  for (const r of aggregated)
    out.push({
      t: r.timestamp - start,
      value: round1(r.requestsPerSecond),
      series: "HTTP requests/s (Locust)",
    });
  return { users, rates: out };
}

export function throughputSpec(
  data: { users: readonly ThroughputPoint[]; rates: readonly ThroughputPoint[] },
  title = "Throughput vs users",
): Spec {
  return {
    ...base(title, "lines: per second, left axis; grey area: simulated users, right axis"),
    layer: [
      {
        data: { values: [...data.users] },
        mark: { type: "area", color: "#d9d9d9", opacity: 0.6, interpolate: "step-after" },
        encoding: {
          x: elapsedAxis,
          y: { field: "value", type: "quantitative", title: "users", axis: { orient: "right" } },
        },
      },
      {
        data: { values: [...data.rates] },
        mark: { type: "line" },
        encoding: {
          x: elapsedAxis,
          y: { field: "value", type: "quantitative", title: "per second" },
          color: { field: "series", type: "nominal", title: null, legend },
        },
      },
    ],
    resolve: { scale: { y: "independent" } },
  } as Spec;
}

/** The order-to-notification histogram (Prometheus buckets), or Locust's percentiles when absent. */
export function e2eSpec(
  buckets: readonly { le: string; count: number }[],
  clientPercentiles: Readonly<Record<string, number>>,
  title = "Order-to-notification latency distribution",
): Spec {
  if (buckets.some((b) => b.count > 0)) {
    const values = buckets.map((b, i) => ({
      bucket: bucketLabel(b.le, buckets[i - 1]?.le),
      count: b.count,
    }));
    const p = (k: string) =>
      clientPercentiles[k] === undefined ? "n/a" : `${clientPercentiles[k]} ms`;
    return {
      ...base(
        title,
        `notification-service histogram; client side p50 ${p("50%")}, p95 ${p("95%")}, p99 ${p(
          "99%",
        )}`,
      ),
      data: { values },
      mark: { type: "bar", color: "#4c78a8" },
      encoding: {
        x: {
          field: "bucket",
          type: "ordinal",
          sort: null,
          title: "order accepted → notified",
          axis: { labelAngle: -35 },
        },
        y: { field: "count", type: "quantitative", title: "orders" },
      },
    } as Spec;
  }
  const values = Object.entries(clientPercentiles).map(([k, ms]) => ({
    percentile: Number(k.replace("%", "")),
    ms,
  }));
  return {
    ...base(title, "client side (Locust): share of followed orders notified within the time"),
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "ms", type: "quantitative", title: "milliseconds", scale: { zero: true } },
      y: {
        field: "percentile",
        type: "quantitative",
        title: "percent of orders",
        scale: { domain: [0, 100] },
      },
    },
  } as Spec;
}

/** "25-50 ms", "> 30 s": a bucket named by its bounds. */
export function bucketLabel(le: string, previousLe: string | undefined): string {
  const fmt = (seconds: number) =>
    seconds >= 1 ? `${seconds} s` : `${Math.round(seconds * 1000)} ms`;
  if (le === "+Inf") return previousLe === undefined ? "all" : `> ${fmt(Number(previousLe))}`;
  const upper = Number(le);
  if (previousLe === undefined) return `< ${fmt(upper)}`;
  const lower = Number(previousLe);
  return upper >= 1 && lower >= 1
    ? `${lower}-${upper} s`
    : upper >= 1
    ? `${fmt(lower)}-${fmt(upper)}`
    : `${Math.round(lower * 1000)}-${Math.round(upper * 1000)} ms`;
}

export function queueDepthPoints(series: readonly Series[], start: number): ThroughputPoint[] {
  return series.flatMap((s) =>
    s.points.map(([t, v]) => ({ t: round1(t - start), value: v, series: s.labels.queue ?? "?" })),
  );
}

export function queueDepthSpec(
  points: readonly ThroughputPoint[],
  title = "Queue depth (ready + unacknowledged)",
): Spec {
  const highest = points.reduce((m, p) => Math.max(m, p.value), 0);
  return {
    ...base(
      title,
      points.length === 0
        ? "no RabbitMQ series were found for this run"
        : "RabbitMQ's per-queue series",
    ),
    data: { values: points.length === 0 ? [{ t: 0, value: 0, series: "no data" }] : [...points] },
    mark: { type: "line", interpolate: "step-after" },
    encoding: {
      x: elapsedAxis,
      y: {
        field: "value",
        type: "quantitative",
        title: "messages",
        scale: { domain: [0, Math.max(5, highest)] },
        axis: { format: "d" },
      },
      color: { field: "series", type: "nominal", title: null, legend },
    },
  } as Spec;
}

/** One bar per (metric, run), metrics side by side: for comparing two result folders. */
export interface ComparisonBar {
  readonly metric: string;
  readonly run: string;
  readonly value: number;
}

export function comparisonSpec(
  latency: readonly ComparisonBar[],
  rates: readonly ComparisonBar[],
  title: string,
): Spec {
  const panel = (values: readonly ComparisonBar[], axis: string, subtitle: string) => ({
    title: subtitle,
    width: 340,
    height: HEIGHT,
    data: { values: [...values] },
    mark: { type: "bar" },
    encoding: {
      x: { field: "metric", type: "nominal", title: null, sort: null },
      xOffset: { field: "run", type: "nominal" },
      y: { field: "value", type: "quantitative", title: axis },
      color: {
        field: "run",
        type: "nominal",
        title: "run",
        legend: { orient: "bottom", labelLimit: 400 },
      },
    },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, offset: 16 },
    config: { font: FONT, background: "white" },
    spacing: 40,
    hconcat: [
      panel(latency, "milliseconds", "Latency (client side)"),
      panel(rates, "per second", "Throughput"),
    ],
    // Each panel's bars split its own bands; a shared offset scale would size them for the other panel.
    resolve: { scale: { xOffset: "independent" } },
  } as Spec;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
