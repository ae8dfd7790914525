/** `report.md` for one run and the comparison table for two: Markdown built from summaries, no I/O. */
import type { Percentiles, Summary } from "./summary.js";

export const CHART_FILES = {
  latency: "latency-percentiles.png",
  throughput: "throughput-vs-users.png",
  e2e: "e2e-latency-distribution.png",
  queueDepth: "queue-depth.png",
} as const;

const ms = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : `${v} ms`);
const pct = (p: Percentiles) => `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`;
const num = (v: number | undefined, digits = 1) => (v === undefined ? "n/a" : v.toFixed(digits));

export function reportMarkdown(s: Summary, files: { csvPrefix: string; html: string }): string {
  const lines: string[] = [];
  const p = s.prometheus;
  lines.push(`# Campaign \`${s.scenario}\` on \`${s.target}\`: ${s.verdict.toUpperCase()}`, "");
  lines.push(`${s.description}`, "");
  lines.push(
    `- Run: ${s.startedAt} → ${s.endedAt} (${s.durationSeconds} s), peak ${s.locust.peakUsers} users`,
  );
  lines.push(`- Target: ${s.host} (notifications from ${s.notifyHost})`);
  lines.push(`- Prometheus: ${s.prometheusUrl ?? "not available"}`);
  lines.push(
    `- Locust: \`${files.csvPrefix}_stats.csv\`, \`${files.csvPrefix}_stats_history.csv\`, \`${files.html}\``,
    "",
  );

  lines.push(
    "## Verdict",
    "",
    "| Check | Limit | Measured | Result |",
    "| --- | --- | --- | --- |",
  );
  for (const c of s.checks)
    lines.push(`| ${c.name} | ${c.limit} | ${c.actual} | ${c.ok ? "pass" : "**fail**"} |`);
  lines.push("");

  lines.push("## Figures", "");
  lines.push(
    `- ${s.locust.requests} requests, ${s.locust.failures} failed (ratio ${s.locust.failureRatio}), ` +
      `${s.locust.requestsPerSecond} requests/s on average.`,
  );
  lines.push(
    `- ${s.orders.placed} valid orders placed (${s.orders.perSecond}/s), ${s.orders.failed} failed; ` +
      `POST /order p50 / p95 / p99 client side: ${pct(s.orders.latencyMs)}.`,
  );
  lines.push(
    `- ${s.e2e.followed} orders followed to notification, ${s.e2e.failed} not notified in time; ` +
      `order-to-notification p50 / p95 / p99 client side: ${pct(s.e2e.latencyMs)}` +
      (p
        ? `, server side (notification-service histogram): ${pct(p.orderToNotificationMs)}.`
        : "."),
  );
  if (p) {
    lines.push(`- Messages dead-lettered during the run: ${p.deadLettered}.`, "");
    lines.push(
      "| Service | HTTP req/s | Deliveries/s | HTTP p50 / p95 / p99 | CPU mean / peak (cores) | RSS peak / end (MiB) |",
    );
    lines.push("| --- | --- | --- | --- | --- | --- |");
    const services = [
      ...new Set([
        ...Object.keys(p.httpRequestsPerSecond),
        ...Object.keys(p.cpuCores),
        ...Object.keys(p.memoryMiB),
      ]),
    ].sort();
    for (const name of services) {
      const cpu = p.cpuCores[name];
      const mem = p.memoryMiB[name];
      lines.push(
        `| ${name} | ${num(p.httpRequestsPerSecond[name])} | ${num(
          p.messagesConsumedPerSecond[name],
        )} | ` +
          `${p.httpLatencyMs[name] ? pct(p.httpLatencyMs[name]) : "n/a"} | ` +
          `${cpu ? `${num(cpu.mean, 2)} / ${num(cpu.max, 2)}` : "n/a"} | ${
            mem ? `${num(mem.max)} / ${num(mem.last)}` : "n/a"
          } |`,
      );
    }
    lines.push("");
    const queues = Object.entries(p.queueDepthMax).sort(([a], [b]) => a.localeCompare(b));
    if (queues.length > 0) {
      lines.push("| Queue | Peak depth (ready + unacked) |", "| --- | --- |");
      for (const [queue, depth] of queues) lines.push(`| ${queue} | ${depth} |`);
      lines.push("");
    }
  } else {
    lines.push(
      "- Prometheus could not be read: server-side figures, queue depth and resources are missing.",
      "",
    );
  }

  lines.push(
    "## Requests",
    "",
    "| Type | Name | Requests | Failures | req/s | p50 / p95 / p99 | max |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const e of s.locust.entries) {
    lines.push(
      `| ${e.type} | ${e.name} | ${e.requests} | ${e.failures} | ${e.requestsPerSecond} | ${pct(
        e.latencyMs,
      )} | ${ms(e.maxMs)} |`,
    );
  }
  lines.push("");

  lines.push("## Charts", "");
  lines.push(`![POST /order latency percentiles over time](${CHART_FILES.latency})`, "");
  lines.push(`![Throughput vs users](${CHART_FILES.throughput})`, "");
  lines.push(`![Order-to-notification latency distribution](${CHART_FILES.e2e})`, "");
  lines.push(`![Queue depth](${CHART_FILES.queueDepth})`, "");
  return lines.join("\n");
}

/** The figures two runs are compared on, with a direction: which way is better. */
export interface ComparisonRow {
  readonly figure: string;
  readonly a: number | null;
  readonly b: number | null;
  readonly unit: string;
  readonly better: "lower" | "higher";
}

export function comparisonRows(a: Summary, b: Summary): ComparisonRow[] {
  const row = (
    figure: string,
    unit: string,
    better: "lower" | "higher",
    pick: (s: Summary) => number | null | undefined,
  ): ComparisonRow => ({
    figure,
    unit,
    better,
    a: pick(a) ?? null,
    b: pick(b) ?? null,
  });
  return [
    row("peak users", "", "higher", (s) => s.locust.peakUsers),
    row("requests/s", "/s", "higher", (s) => s.locust.requestsPerSecond),
    row("orders/s", "/s", "higher", (s) => s.orders.perSecond),
    row("failure ratio", "", "lower", (s) => s.locust.failureRatio),
    row("POST /order p50", "ms", "lower", (s) => s.orders.latencyMs.p50),
    row("POST /order p95", "ms", "lower", (s) => s.orders.latencyMs.p95),
    row("POST /order p99", "ms", "lower", (s) => s.orders.latencyMs.p99),
    row("order-to-notification p50", "ms", "lower", (s) => s.e2e.latencyMs.p50),
    row("order-to-notification p95", "ms", "lower", (s) => s.e2e.latencyMs.p95),
    row("order-to-notification p99", "ms", "lower", (s) => s.e2e.latencyMs.p99),
    row("dead-lettered", "", "lower", (s) => s.prometheus?.deadLettered),
    row("peak queue depth", "", "lower", (s) =>
      s.prometheus ? Math.max(0, ...Object.values(s.prometheus.queueDepthMax)) : null,
    ),
  ];
}

/** Relative change from a to b, as text (`+12.5%`), or `n/a`. */
export function change(a: number | null, b: number | null): string {
  if (a === null || b === null) return "n/a";
  if (a === 0) return b === 0 ? "0%" : "n/a";
  const delta = ((b - a) / Math.abs(a)) * 100;
  return `${delta >= 0 ? "+" : ""}${delta.toFixed(1)}%`;
}

export function comparisonMarkdown(
  labelA: string,
  labelB: string,
  rows: readonly ComparisonRow[],
): string {
  const fmt = (v: number | null, unit: string) =>
    v === null ? "n/a" : `${v}${unit && unit !== "/s" ? ` ${unit}` : unit}`;
  const lines = [
    `| Figure | A: ${labelA} | B: ${labelB} | B vs A | Better |`,
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.figure} | ${fmt(r.a, r.unit)} | ${fmt(r.b, r.unit)} | ${change(r.a, r.b)} | ${
        r.better
      } |`,
    );
  }
  return lines.join("\n");
}
