/**
 * Prometheus for a campaign: a private one from Debian's package for the local target (static
 * targets, the project's rule files, storage in a temporary folder), and the queries that turn
 * its series into the campaign's figures. The lab target reads Traefik's `/prometheus` instead.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { REPO_ROOT } from "../lib/paths.js";
import type { Percentiles, PrometheusFigures } from "./summary.js";

export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const RULES_DIR = join(REPO_ROOT, "observability", "prometheus", "rules");

/** Routes that are not traffic: probes and scrapes. */
const OPERATIONAL_ROUTES = "/(metrics|health|ready)";

export interface ScrapeTarget {
  /** Prometheus job name. */
  readonly job: string;
  /** host:port */
  readonly address: string;
  /** @default "/metrics" */
  readonly metricsPath?: string;
}

/** prometheus.yml for static targets and the project's rule files. */
export function prometheusConfig(
  targets: readonly ScrapeTarget[],
  ruleFiles: readonly string[],
  scrapeIntervalSeconds: number,
): string {
  return stringify({
    global: {
      scrape_interval: `${scrapeIntervalSeconds}s`,
      evaluation_interval: `${scrapeIntervalSeconds}s`,
    },
    rule_files: [...ruleFiles],
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: t.metricsPath ?? "/metrics",
      static_configs: [{ targets: [t.address] }],
    })),
  });
}

export function ruleFiles(dir = RULES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));
}

export interface LocalPrometheusOptions {
  readonly dir: string;
  readonly port: number;
  readonly targets: readonly ScrapeTarget[];
  readonly scrapeIntervalSeconds: number;
  readonly log: (line: string) => void;
}

/** A Prometheus process of our own on 127.0.0.1, stopped with `stop()`. */
export class LocalPrometheus {
  private child?: ChildProcess;
  readonly url: string;

  constructor(private readonly options: LocalPrometheusOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
  }

  async start(): Promise<void> {
    const { dir, port, targets, scrapeIntervalSeconds } = this.options;
    mkdirSync(join(dir, "data"), { recursive: true });
    const configFile = join(dir, "prometheus.yml");
    writeFileSync(configFile, prometheusConfig(targets, ruleFiles(), scrapeIntervalSeconds));
    const child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--storage.tsdb.retention.time=1d",
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.child = child;
    child.stderr?.on("data", (chunk: Buffer) =>
      this.options.log(`[prometheus] ${chunk.toString("utf8").trimEnd()}`),
    );
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) =>
        reject(new Error(`prometheus exited with code ${code} while starting`)),
      ),
    );
    await Promise.race([waitForHttp(`${this.url}/-/ready`, 30_000), exited]);
    await this.waitForFirstScrapes(30_000);
  }

  /** Waits until every target has been scraped once, so the run's first seconds are on record. */
  private async waitForFirstScrapes(timeoutMs: number): Promise<void> {
    const client = new PrometheusClient(this.url);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const up = await client.query("count(up == 1)", Date.now() / 1000).catch(() => []);
      if ((up[0]?.value ?? 0) >= this.options.targets.length) return;
      if (Date.now() > deadline) {
        this.options.log(
          `Prometheus: not every target answered within ${timeoutMs} ms; see ${this.url}/targets`,
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One series of a range query: its labels and [unix seconds, value] points (NaN dropped). */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly points: readonly (readonly [number, number])[];
}

interface ApiAnswer {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: {
      metric: Record<string, string>;
      value?: [number, string];
      values?: [number, string][];
    }[];
  };
}

/** The HTTP API of a Prometheus, under `baseUrl` (`http://127.0.0.1:9090` or `.../prometheus`). */
export class PrometheusClient {
  constructor(readonly baseUrl: string) {}

  private async get(path: string, params: Record<string, string>): Promise<ApiAnswer["data"]> {
    const url = `${this.baseUrl}/api/v1/${path}?${new URLSearchParams(params)}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let body: ApiAnswer | undefined;
    try {
      body = JSON.parse(text) as ApiAnswer;
    } catch {
      // Not Prometheus answering (a proxy's 404 page, for one): say what came back instead.
    }
    if (!response.ok || body?.status !== "success") {
      const reason = body?.error ?? text.slice(0, 120).trim();
      throw new Error(`Prometheus ${path} at ${this.baseUrl} answered ${response.status}: ${reason}`);
    }
    return body.data;
  }

  async queryRange(
    query: string,
    start: number,
    end: number,
    stepSeconds: number,
  ): Promise<Series[]> {
    const data = await this.get("query_range", {
      query,
      start: String(start),
      end: String(end),
      step: String(stepSeconds),
    });
    return (data?.result ?? []).map((r) => ({
      labels: r.metric,
      points: (r.values ?? [])
        .map(([t, v]) => [t, Number(v)] as const)
        .filter(([, v]) => Number.isFinite(v)),
    }));
  }

  /** Instant query; one value per series (NaN kept out). */
  async query(
    query: string,
    time: number,
  ): Promise<{ labels: Record<string, string>; value: number }[]> {
    const data = await this.get("query", { query, time: String(time) });
    return (data?.result ?? [])
      .map((r) => ({ labels: r.metric, value: Number(r.value?.[1]) }))
      .filter((r) => Number.isFinite(r.value));
  }
}

/** The range queries a campaign charts, by name. `w` is the rate window, `vhost` RabbitMQ's. */
export function rangeQueries(w: string, vhost: string): Record<string, string> {
  const traffic = `route!~"${OPERATIONAL_ROUTES}"`;
  const latency = (q: number) =>
    `histogram_quantile(${q}, sum by (service, le) (rate(http_request_duration_seconds_bucket{${traffic}}[${w}])))`;
  const e2e = (q: number) =>
    `histogram_quantile(${q}, sum by (le) (rate(order_to_notification_seconds_bucket[${w}])))`;
  return {
    httpRequestsPerSecond: `sum by (service) (rate(http_request_duration_seconds_count{${traffic}}[${w}]))`,
    ordersAcceptedPerSecond: `sum(rate(orders_accepted_total[${w}]))`,
    messagesConsumedPerSecond: `sum by (service) (rate(messages_consumed_total[${w}]))`,
    httpP50: latency(0.5),
    httpP95: latency(0.95),
    httpP99: latency(0.99),
    e2eP50: e2e(0.5),
    e2eP95: e2e(0.95),
    e2eP99: e2e(0.99),
    queueDepth: `sum by (queue) (rabbitmq_queue_messages_ready{vhost="${vhost}"} + rabbitmq_queue_messages_unacked{vhost="${vhost}"})`,
    deadLettered: `sum by (service, queue, reason) (messages_dead_lettered_total)`,
    cpuCores: `sum by (service) (rate(process_cpu_seconds_total{service!=""}[${w}]))`,
    memoryBytes: `max by (service) (process_resident_memory_bytes{service!=""})`,
  };
}

export type RangeData = Record<string, Series[]>;

export interface CollectOptions {
  readonly start: number;
  readonly end: number;
  readonly scrapeIntervalSeconds: number;
  readonly vhost: string;
  /** Seconds the load ran, the divisor of per-second figures. @default end - start */
  readonly runSeconds?: number;
}

/** Reads every range query over the run window. */
export async function collectSeries(
  client: PrometheusClient,
  options: CollectOptions,
): Promise<{ step: number; window: string; data: RangeData }> {
  const span = Math.max(1, options.end - options.start);
  const step = Math.max(options.scrapeIntervalSeconds, Math.ceil(span / 300));
  const window = `${Math.max(4 * options.scrapeIntervalSeconds, 2 * step)}s`;
  const data: RangeData = {};
  for (const [name, query] of Object.entries(rangeQueries(window, options.vhost))) {
    data[name] = await client.queryRange(query, options.start, options.end, step);
  }
  return { step, window, data };
}

/**
 * What a counter (or histogram bucket) gained over the run window, summed by `by`: its value at
 * the end minus its value at the start, a series born during the run counting from zero. Unlike
 * rate() over the window this neither extrapolates nor loses what came before the first scrape
 * after a series appeared, which matters for runs of a few scrape intervals.
 */
export function deltaExpr(selector: string, by: string, span: string): string {
  const now = `sum by (${by}) (${selector})`;
  return `${now} - ((sum by (${by}) (${selector} offset ${span})) or (${now} * 0))`;
}

/** Whole-run figures: counter deltas over the run window, plus maxima read from the range data. */
export async function collectFigures(
  client: PrometheusClient,
  options: CollectOptions,
  data: RangeData,
): Promise<PrometheusFigures> {
  const seconds = Math.max(1, Math.ceil(options.end - options.start));
  const span = `${seconds}s`;
  const traffic = `route!~"${OPERATIONAL_ROUTES}"`;
  const at = options.end;
  const perSecond = async (selector: string) =>
    Object.fromEntries(
      (await client.query(deltaExpr(selector, "service", span), at)).map((r) => [
        r.labels.service ?? "",
        round3(r.value / (options.runSeconds ?? seconds)),
      ]),
    );
  const httpLatencyMs: Record<string, Percentiles> = {};
  const httpBuckets = deltaExpr(
    `http_request_duration_seconds_bucket{${traffic}}`,
    "service, le",
    span,
  );
  for (const [key, q] of [
    ["p50", 0.5],
    ["p95", 0.95],
    ["p99", 0.99],
  ] as const) {
    for (const r of await client.query(`histogram_quantile(${q}, ${httpBuckets})`, at)) {
      const service = r.labels.service ?? "";
      httpLatencyMs[service] = {
        ...(httpLatencyMs[service] ?? { p50: null, p95: null, p99: null }),
        [key]: round3(r.value * 1000),
      };
    }
  }
  const e2eBuckets = deltaExpr("order_to_notification_seconds_bucket", "le", span);
  const e2e = async (q: number) => {
    const [row] = await client.query(`histogram_quantile(${q}, ${e2eBuckets})`, at);
    return row ? round3(row.value * 1000) : null;
  };
  const dead = await client.query(
    `sum(${deltaExpr("messages_dead_lettered_total", "service, queue, reason", span)})`,
    at,
  );

  return {
    httpRequestsPerSecond: await perSecond(`http_request_duration_seconds_count{${traffic}}`),
    messagesConsumedPerSecond: await perSecond("messages_consumed_total"),
    httpLatencyMs,
    orderToNotificationMs: { p50: await e2e(0.5), p95: await e2e(0.95), p99: await e2e(0.99) },
    queueDepthMax: Object.fromEntries(
      (data.queueDepth ?? []).map((s) => [s.labels.queue ?? "", maxOf(s)]),
    ),
    deadLettered: Math.round(dead[0]?.value ?? 0),
    cpuCores: Object.fromEntries(
      (data.cpuCores ?? []).map((s) => [
        s.labels.service ?? "",
        { mean: round3(meanOf(s)), max: round3(maxOf(s)) },
      ]),
    ),
    memoryMiB: Object.fromEntries(
      (data.memoryBytes ?? []).map((s) => [
        s.labels.service ?? "",
        { max: round3(maxOf(s) / 2 ** 20), last: round3((s.points.at(-1)?.[1] ?? 0) / 2 ** 20) },
      ]),
    ),
  };
}

/** Bucket counts of the order-to-notification histogram over the run (not cumulative). */
export async function e2eHistogram(
  client: PrometheusClient,
  options: CollectOptions,
): Promise<{ le: string; count: number }[]> {
  const span = `${Math.max(1, Math.ceil(options.end - options.start))}s`;
  const rows = await client.query(
    deltaExpr("order_to_notification_seconds_bucket", "le", span),
    options.end,
  );
  return bucketCounts(rows.map((r) => ({ le: r.labels.le ?? "+Inf", cumulative: r.value })));
}

/** Turns cumulative histogram buckets into per-bucket counts, ordered by upper bound. */
export function bucketCounts(
  buckets: readonly { le: string; cumulative: number }[],
): { le: string; count: number }[] {
  const bound = (le: string) => (le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le));
  const sorted = [...buckets].sort((a, b) => bound(a.le) - bound(b.le));
  let previous = 0;
  return sorted.map((b) => {
    const count = Math.max(0, Math.round(b.cumulative - previous));
    previous = b.cumulative;
    return { le: b.le, count };
  });
}

function maxOf(s: Series): number {
  return s.points.reduce((m, [, v]) => Math.max(m, v), 0);
}

function meanOf(s: Series): number {
  return s.points.length === 0 ? 0 : s.points.reduce((sum, [, v]) => sum + v, 0) / s.points.length;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
