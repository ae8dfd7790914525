/** Two result folders side by side: one chart and one table, written to a folder of their own. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { comparisonSpec, renderPng, type ComparisonBar } from "./charts.js";
import { comparisonMarkdown, comparisonRows } from "./report.js";
import { timestamp } from "./run.js";
import type { Summary } from "./summary.js";

export function loadSummary(dir: string): Summary {
  const file = join(dir, "summary.json");
  if (!existsSync(file))
    throw new Error(`${dir} is not a campaign result folder: it has no summary.json`);
  return JSON.parse(readFileSync(file, "utf8")) as Summary;
}

/** The bars of the comparison chart: client-side latency figures, and rates. */
export function comparisonBars(runs: readonly { label: string; summary: Summary }[]): {
  latency: ComparisonBar[];
  rates: ComparisonBar[];
} {
  const latency: ComparisonBar[] = [];
  const rates: ComparisonBar[] = [];
  for (const { label, summary: s } of runs) {
    const add = (list: ComparisonBar[], metric: string, value: number | null) => {
      if (value !== null) list.push({ metric, run: label, value });
    };
    add(latency, "order p50", s.orders.latencyMs.p50);
    add(latency, "order p95", s.orders.latencyMs.p95);
    add(latency, "order p99", s.orders.latencyMs.p99);
    add(latency, "e2e p50", s.e2e.latencyMs.p50);
    add(latency, "e2e p95", s.e2e.latencyMs.p95);
    add(latency, "e2e p99", s.e2e.latencyMs.p99);
    add(rates, "requests/s", s.locust.requestsPerSecond);
    add(rates, "orders/s", s.orders.perSecond);
  }
  return { latency, rates };
}

export async function compareRuns(
  dirA: string,
  dirB: string,
  outDir: string,
): Promise<{ dir: string; table: string }> {
  const a = { label: `A ${basename(dirA)}`, summary: loadSummary(dirA) };
  const b = { label: `B ${basename(dirB)}`, summary: loadSummary(dirB) };
  const dir = join(outDir, `compare-${timestamp(new Date())}`);
  mkdirSync(dir, { recursive: true });
  const { latency, rates } = comparisonBars([a, b]);
  const title = `${a.summary.scenario} on ${a.summary.target} vs ${b.summary.scenario} on ${b.summary.target}`;
  writeFileSync(
    join(dir, "comparison.png"),
    await renderPng(comparisonSpec(latency, rates, title)),
  );
  const table = comparisonMarkdown(
    basename(dirA),
    basename(dirB),
    comparisonRows(a.summary, b.summary),
  );
  const verdicts = `Verdicts: A ${a.summary.verdict}, B ${b.summary.verdict}.`;
  writeFileSync(
    join(dir, "comparison.md"),
    [
      `# ${title}`,
      "",
      `- A: \`${dirA}\``,
      `- B: \`${dirB}\``,
      "",
      verdicts,
      "",
      table,
      "",
      "![A vs B](comparison.png)",
      "",
    ].join("\n"),
  );
  return { dir, table };
}
