/**
 * What a campaign run amounts to: the figures from Locust's CSV and from Prometheus, the
 * scenario's thresholds checked against them, and the verdict. Pure functions, no I/O.
 */
import type { HistoryRow, StatsRow } from "./locust-csv.js";
import type { Thresholds } from "./scenarios.js";

/** Request names the locustfile uses; the summary picks its figures by them. */
export const LOCUST_NAMES = {
  order: { type: "POST", name: "/order" },
  invalidOrder: { type: "POST", name: "/order [invalid]" },
  e2e: { type: "E2E", name: "order-to-notification" },
  aggregated: { type: "", name: "Aggregated" },
} as const;

export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** Figures read from Prometheus over the run window (absent when Prometheus could not be read). */
export interface PrometheusFigures {
  /** Mean HTTP requests per second per service, operational routes excluded. */
  readonly httpRequestsPerSecond: Readonly<Record<string, number>>;
  /** Mean deliveries settled per second per consuming service. */
  readonly messagesConsumedPerSecond: Readonly<Record<string, number>>;
  /** Server-side HTTP latency per service over the run, in milliseconds. */
  readonly httpLatencyMs: Readonly<Record<string, Percentiles>>;
  /** The notification service's histogram of order acceptance to notification, in milliseconds. */
  readonly orderToNotificationMs: Percentiles;
  /** Highest number of ready plus unacknowledged messages seen per queue. */
  readonly queueDepthMax: Readonly<Record<string, number>>;
  /** Messages the services sent to a dead-letter queue during the run. */
  readonly deadLettered: number;
  /** CPU per service in cores (1 = one core busy), mean and peak. */
  readonly cpuCores: Readonly<Record<string, { readonly mean: number; readonly max: number }>>;
  /** Resident memory per service in MiB, peak and at the end. */
  readonly memoryMiB: Readonly<Record<string, { readonly max: number; readonly last: number }>>;
}

export interface Check {
  readonly name: string;
  readonly limit: string;
  readonly actual: string;
  readonly ok: boolean;
}

export interface RunMeta {
  readonly scenario: string;
  readonly description: string;
  readonly target: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly host: string;
  readonly notifyHost: string;
  readonly prometheusUrl: string | null;
  readonly locustExitCode: number | null;
  readonly thresholds: Thresholds;
}

export interface EntrySummary {
  readonly type: string;
  readonly name: string;
  readonly requests: number;
  readonly failures: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: Percentiles;
  readonly maxMs: number;
}

export interface Summary extends Omit<RunMeta, "locustExitCode"> {
  readonly schemaVersion: 1;
  readonly durationSeconds: number;
  readonly locust: {
    readonly exitCode: number | null;
    readonly requests: number;
    readonly failures: number;
    readonly failureRatio: number;
    readonly requestsPerSecond: number;
    readonly peakUsers: number;
    readonly entries: readonly EntrySummary[];
  };
  readonly orders: {
    readonly placed: number;
    readonly failed: number;
    readonly perSecond: number;
    readonly latencyMs: Percentiles;
  };
  readonly e2e: {
    readonly followed: number;
    readonly failed: number;
    readonly latencyMs: Percentiles;
  };
  readonly prometheus: PrometheusFigures | null;
  readonly checks: readonly Check[];
  readonly verdict: "pass" | "fail";
}

const percentile = (row: StatsRow | undefined, key: string): number | null =>
  row?.percentiles[key] ?? null;

export function percentilesOf(row: StatsRow | undefined): Percentiles {
  return { p50: percentile(row, "50%"), p95: percentile(row, "95%"), p99: percentile(row, "99%") };
}

function find(
  rows: readonly StatsRow[],
  which: { type: string; name: string },
): StatsRow | undefined {
  return rows.find((r) => r.type === which.type && r.name === which.name);
}

/** What the thresholds are checked against. */
export interface ThresholdInputs {
  readonly requests: number;
  readonly failureRatio: number;
  /** Valid orders placed (POST /order), and their p95 in ms. */
  readonly orders: number;
  readonly orderP95Ms: number | null;
  /** Orders followed to notification, and the p95 of that time in ms. */
  readonly followed: number;
  readonly e2eP95Ms: number | null;
  readonly locustExitCode: number | null;
}

/**
 * Checks a run against its scenario's thresholds, the way the locustfile does at quitting, plus
 * Locust's exit code (which carries that same verdict, or a crash).
 */
export function evaluateThresholds(inputs: ThresholdInputs, thresholds: Thresholds): Check[] {
  const ms = (v: number | null) => (v === null ? "none" : `${v} ms`);
  const checks: Check[] = [
    {
      name: "requests made",
      limit: "> 0",
      actual: String(inputs.requests),
      ok: inputs.requests > 0,
    },
    {
      name: "failure ratio",
      limit: `<= ${thresholds.max_failure_ratio}`,
      actual: inputs.failureRatio.toFixed(4),
      ok: inputs.requests > 0 && inputs.failureRatio <= thresholds.max_failure_ratio,
    },
    {
      name: "POST /order p95",
      limit: `<= ${thresholds.max_order_p95_ms} ms`,
      actual: ms(inputs.orderP95Ms),
      ok:
        inputs.orders > 0 &&
        inputs.orderP95Ms !== null &&
        inputs.orderP95Ms <= thresholds.max_order_p95_ms,
    },
  ];
  if (inputs.followed > 0) {
    checks.push({
      name: "order-to-notification p95",
      limit: `<= ${thresholds.max_e2e_p95_ms} ms`,
      actual: ms(inputs.e2eP95Ms),
      ok: inputs.e2eP95Ms !== null && inputs.e2eP95Ms <= thresholds.max_e2e_p95_ms,
    });
  }
  checks.push({
    name: "locust exit code",
    limit: "0",
    actual: inputs.locustExitCode === null ? "none (killed)" : String(inputs.locustExitCode),
    ok: inputs.locustExitCode === 0,
  });
  return checks;
}

export function computeSummary(
  meta: RunMeta,
  stats: readonly StatsRow[],
  history: readonly HistoryRow[],
  prometheus: PrometheusFigures | null,
): Summary {
  const total = find(stats, LOCUST_NAMES.aggregated);
  const order = find(stats, LOCUST_NAMES.order);
  const e2e = find(stats, LOCUST_NAMES.e2e);
  const requests = total?.requests ?? 0;
  const failures = total?.failures ?? 0;
  const failureRatio = requests > 0 ? failures / requests : 0;
  const durationSeconds = Math.max(
    0,
    (Date.parse(meta.endedAt) - Date.parse(meta.startedAt)) / 1000,
  );
  const checks = evaluateThresholds(
    {
      requests,
      failureRatio,
      orders: order?.requests ?? 0,
      orderP95Ms: percentile(order, "95%"),
      followed: e2e?.requests ?? 0,
      e2eP95Ms: percentile(e2e, "95%"),
      locustExitCode: meta.locustExitCode,
    },
    meta.thresholds,
  );
  const { locustExitCode, ...rest } = meta;
  return {
    schemaVersion: 1,
    ...rest,
    durationSeconds: round(durationSeconds, 1),
    locust: {
      exitCode: locustExitCode,
      requests,
      failures,
      failureRatio: round(failureRatio, 6),
      requestsPerSecond: round(total?.requestsPerSecond ?? 0, 2),
      peakUsers: history.reduce((max, row) => Math.max(max, row.users), 0),
      entries: stats
        .filter((r) => r.name !== LOCUST_NAMES.aggregated.name)
        .map((r) => ({
          type: r.type,
          name: r.name,
          requests: r.requests,
          failures: r.failures,
          requestsPerSecond: round(r.requestsPerSecond, 2),
          latencyMs: percentilesOf(r),
          maxMs: round(r.maxMs, 1),
        })),
    },
    orders: {
      placed: order?.requests ?? 0,
      failed: order?.failures ?? 0,
      perSecond: round(order?.requestsPerSecond ?? 0, 2),
      latencyMs: percentilesOf(order),
    },
    e2e: {
      followed: e2e?.requests ?? 0,
      failed: e2e?.failures ?? 0,
      latencyMs: percentilesOf(e2e),
    },
    prometheus,
    checks,
    verdict: checks.every((c) => c.ok) ? "pass" : "fail",
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
