/**
 * One campaign run: the target (local pipeline or lab), Locust headless with the scenario, the
 * Prometheus figures over the run window, then `results/<scenario>-<timestamp>/` with Locust's
 * CSV and HTML, prometheus.json, summary.json, the PNG charts and report.md.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/paths.js";
import { ensureLocustEnv } from "../locust-env.js";
import {
  e2eSpec,
  latencyPoints,
  latencySpec,
  queueDepthPoints,
  queueDepthSpec,
  renderPng,
  throughputPoints,
  throughputSpec,
  type Spec,
} from "./charts.js";
import { startLocalPipeline, type LocalPipeline } from "./local-pipeline.js";
import { parseHistoryCsv, parseStatsCsv, type HistoryRow } from "./locust-csv.js";
import {
  PrometheusClient,
  collectFigures,
  collectSeries,
  e2eHistogram,
  waitForHttp,
  type RangeData,
} from "./prometheus.js";
import { CHART_FILES, reportMarkdown } from "./report.js";
import { loadScenarios, scenarioSeconds, type ScenarioName } from "./scenarios.js";
import { LOCUST_NAMES, computeSummary, type PrometheusFigures, type Summary } from "./summary.js";

export const LOCUSTFILE = join(REPO_ROOT, "locust", "locustfile.py");
export const DEFAULT_LAB_URL = "http://127.0.0.1:18080";
/** The lab's RabbitMQ vhost (stacks/config.ts, `rabbitmq.vhost`). */
export const LAB_VHOST = "orderlab";

export interface CampaignOptions {
  readonly scenario: ScenarioName;
  readonly target: "local" | "lab";
  /** Stretch or shrink the scenario to this many seconds. @default - the scenario's own length */
  readonly durationSeconds?: number;
  /** Parent folder of the run's folder. */
  readonly outDir: string;
  /** Local target: the broker's AMQP port. @default 5672 */
  readonly brokerPort?: number;
  /** Lab target: Traefik's public URL. @default http://127.0.0.1:18080 */
  readonly labUrl?: string;
  /** Local target: Prometheus scrape interval. @default 2 */
  readonly scrapeIntervalSeconds?: number;
  readonly log?: (line: string) => void;
  /** Show a progress line while Locust runs. @default true */
  readonly progress?: boolean;
}

export interface CampaignResult {
  readonly dir: string;
  readonly summary: Summary;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const scenario = loadScenarios()[options.scenario];
  if (!scenario) throw new Error(`unknown scenario ${options.scenario}`);
  const plannedSeconds = options.durationSeconds ?? scenarioSeconds(scenario);
  const dir = join(options.outDir, `${options.scenario}-${timestamp(new Date())}`);
  mkdirSync(dir, { recursive: true });
  log(
    `campaign ${options.scenario} on ${options.target}: ${scenario.description} (${plannedSeconds} s) → ${dir}`,
  );

  const locust = await ensureLocustEnv(log);
  let pipeline: LocalPipeline | undefined;
  try {
    let host: string;
    let notifyHost: string;
    let prometheusUrl: string;
    let vhost: string;
    let scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 2;
    if (options.target === "local") {
      pipeline = await startLocalPipeline({
        brokerPort: options.brokerPort ?? 5672,
        logDir: dir,
        scrapeIntervalSeconds,
        log,
      });
      host = pipeline.orderUrl;
      notifyHost = pipeline.notifyUrl;
      prometheusUrl = pipeline.prometheusUrl;
      vhost = pipeline.vhost;
    } else {
      const labUrl = (options.labUrl ?? DEFAULT_LAB_URL).replace(/\/$/, "");
      host = labUrl;
      notifyHost = labUrl;
      prometheusUrl = `${labUrl}/prometheus`;
      vhost = LAB_VHOST;
      // The lab's Prometheus scrapes every 5 s (stacks/config.ts, prometheus.scrapeIntervalSeconds).
      scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 5;
      await waitForHttp(`${prometheusUrl}/-/ready`, 10_000).catch((error: unknown) => {
        throw new Error(
          `the lab does not answer at ${labUrl} (is it deployed?): ${(error as Error).message}`,
        );
      });
    }

    const startedAt = new Date();
    const exitCode = await runLocust({
      locust: locust.locust,
      dir,
      host,
      notifyHost,
      scenario: options.scenario,
      plannedSeconds,
      durationSeconds: options.durationSeconds,
      progress: options.progress ?? true,
      log,
    });
    const endedAt = new Date();
    log(`Locust finished with exit code ${exitCode}`);

    // Let Prometheus scrape the last moments of the run before reading it.
    await new Promise((r) => setTimeout(r, (scrapeIntervalSeconds * 2 + 1) * 1000));
    const window = {
      start: Math.floor(startedAt.getTime() / 1000),
      end: Math.ceil(endedAt.getTime() / 1000) + scrapeIntervalSeconds,
      scrapeIntervalSeconds,
      vhost,
      runSeconds: Math.max(1, (endedAt.getTime() - startedAt.getTime()) / 1000),
    };
    const client = new PrometheusClient(prometheusUrl);
    let figures: PrometheusFigures | null = null;
    let series: RangeData = {};
    let buckets: { le: string; count: number }[] = [];
    try {
      const collected = await collectSeries(client, window);
      series = collected.data;
      figures = await collectFigures(client, window, series);
      buckets = await e2eHistogram(client, window);
      writeFileSync(
        join(dir, "prometheus.json"),
        `${JSON.stringify(
          { window, step: collected.step, rateWindow: collected.window, buckets, series },
          null,
          1,
        )}\n`,
      );
    } catch (error) {
      log(
        `Prometheus could not be read (${
          (error as Error).message
        }); the report will lack server-side figures`,
      );
    }

    const stats = parseStatsCsv(readIfExists(join(dir, "locust_stats.csv")));
    const history = parseHistoryCsv(readIfExists(join(dir, "locust_stats_history.csv")));
    const summary = computeSummary(
      {
        scenario: options.scenario,
        description: scenario.description,
        target: options.target,
        startedAt: startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
        host,
        notifyHost,
        prometheusUrl: figures ? prometheusUrl : null,
        locustExitCode: exitCode,
        thresholds: scenario.thresholds,
      },
      stats,
      history,
      figures,
    );
    writeFileSync(join(dir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);

    const start = window.start;
    const pick = (type: string, name: string) =>
      history.filter((r) => r.type === type && r.name === name);
    const e2eRow = stats.find(
      (r) => r.type === LOCUST_NAMES.e2e.type && r.name === LOCUST_NAMES.e2e.name,
    );
    const orderService = (list: RangeData[string] | undefined) =>
      list?.find((s) => s.labels.service === "order-service");
    const charts: [string, Spec][] = [
      [
        CHART_FILES.latency,
        latencySpec(
          latencyPoints(
            pick(LOCUST_NAMES.order.type, LOCUST_NAMES.order.name),
            {
              p50: orderService(series.httpP50),
              p95: orderService(series.httpP95),
              p99: orderService(series.httpP99),
            },
            start,
          ),
        ),
      ],
      [
        CHART_FILES.throughput,
        throughputSpec(
          throughputPoints(
            aggregatedHistory(history),
            {
              "orders accepted/s": series.ordersAcceptedPerSecond ?? [],
              "deliveries/s": series.messagesConsumedPerSecond ?? [],
            },
            start,
          ),
        ),
      ],
      [CHART_FILES.e2e, e2eSpec(buckets, e2eRow?.percentiles ?? {})],
      [CHART_FILES.queueDepth, queueDepthSpec(queueDepthPoints(series.queueDepth ?? [], start))],
    ];
    for (const [file, spec] of charts) writeFileSync(join(dir, file), await renderPng(spec));
    writeFileSync(
      join(dir, "report.md"),
      `${reportMarkdown(summary, { csvPrefix: "locust", html: "locust.html" })}\n`,
    );
    log(
      `verdict: ${summary.verdict}; ${summary.locust.requests} requests, ${
        summary.orders.placed
      } orders; report: ${join(dir, "report.md")}`,
    );
    return { dir, summary };
  } finally {
    if (pipeline) {
      log("stopping the services, Prometheus and the vhost");
      await pipeline.stop();
    }
  }
}

interface LocustRun {
  readonly locust: string;
  readonly dir: string;
  readonly host: string;
  readonly notifyHost: string;
  readonly scenario: string;
  readonly plannedSeconds: number;
  readonly durationSeconds: number | undefined;
  readonly progress: boolean;
  readonly log: (line: string) => void;
}

/** Runs Locust headless to completion (or kills it past the planned time plus a minute). */
async function runLocust(run: LocustRun): Promise<number | null> {
  const output = createWriteStream(join(run.dir, "locust.log"));
  const child = spawn(
    run.locust,
    [
      "-f",
      LOCUSTFILE,
      "--host",
      run.host,
      "--headless",
      "--csv",
      join(run.dir, "locust"),
      "--csv-full-history",
      "--html",
      join(run.dir, "locust.html"),
      "--only-summary",
      "--stop-timeout",
      "5",
    ],
    {
      cwd: run.dir,
      env: {
        ...process.env,
        ORDERLAB_SCENARIO: run.scenario,
        NOTIFY_HOST: run.notifyHost,
        ...(run.durationSeconds === undefined
          ? {}
          : { ORDERLAB_DURATION: String(run.durationSeconds) }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout.pipe(output, { end: false });
  child.stderr.pipe(output, { end: false });
  const started = Date.now();
  const hardLimitMs = (run.plannedSeconds + 60) * 1000;
  const killer = setTimeout(() => {
    run.log(`Locust still runs ${run.plannedSeconds + 60} s after its start; stopping it`);
    child.kill("SIGTERM");
  }, hardLimitMs);
  const tty = process.stdout.isTTY === true;
  let lastPrinted = 0;
  const ticker = setInterval(() => {
    if (!run.progress) return;
    const line = progressLine(run, (Date.now() - started) / 1000);
    if (tty) process.stdout.write(`\r${line.padEnd(100)}`);
    else if (Date.now() - lastPrinted >= 10_000) {
      lastPrinted = Date.now();
      run.log(line);
    }
  }, 2000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c) => resolve(c));
  });
  clearTimeout(killer);
  clearInterval(ticker);
  if (tty && run.progress) process.stdout.write("\n");
  await new Promise<void>((resolve) => output.end(resolve));
  return code;
}

function progressLine(run: LocustRun, elapsed: number): string {
  const history = parseHistoryCsv(readIfExists(join(run.dir, "locust_stats_history.csv")));
  const last = aggregatedHistory(history).at(-1);
  const head = `[${run.scenario}] ${Math.round(elapsed)}/${Math.round(run.plannedSeconds)} s`;
  if (!last) return `${head}  starting`;
  return (
    `${head}  users ${last.users}  ${last.requestsPerSecond.toFixed(1)} req/s  ` +
    `${last.totalRequests} requests, ${last.totalFailures} failed  p95 ${
      last.percentiles["95%"] ?? "-"
    } ms`
  );
}

function aggregatedHistory(history: readonly HistoryRow[]): HistoryRow[] {
  return history.filter((r) => r.name === LOCUST_NAMES.aggregated.name);
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/** 20261203-194201: sorts by time, safe in a folder name. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
