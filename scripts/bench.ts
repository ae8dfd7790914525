/**
 * `npm run bench`: what this machine can do, in one run of about five minutes.
 *
 *   (a) RabbitMQ alone, with the services' durability (persistent, confirms, manual acks, the
 *       services' prefetch, an order.created-sized body), one hop, on a vhost of its own;
 *   (b) bare Express answering a JSON POST (same Express and body parser, nothing else);
 *   (c) the whole pipeline: the highest order rate sustained for 30 s with every order accepted
 *       and notified and p99 order-to-notification under 250 ms, found by open-loop steps at
 *       fixed rates (doubling, then halving the gap), a bounded number of them.
 *
 * Prints a table, the pipeline rate as a share of (a) and (b), and each service's RSS before
 * and after. Asserts nothing about time. Uses the RabbitMQ on --broker-port, else starts one.
 *
 *   npm run bench [-- --broker-port 5672 --step-seconds 30 --max-steps 7]
 */
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { Command, InvalidArgumentError } from "commander";
import { ROUTING_KEYS, SERVICES } from "../contract/index.js";
import { EVENT_VERSION, encodeEvent, type OrderCreated } from "../services/lib/events/schemas.js";
import { paceOrders, type PaceResult } from "./bench/pacer.js";
import { rabbitmqOneHop, type OneHopResult } from "./bench/rabbitmq-one-hop.js";
import { startLocalPipeline, useBroker, type LocalPipeline } from "./campaign/local-pipeline.js";
import { REPO_ROOT, TSX } from "./lib/paths.js";

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0))
    throw new InvalidArgumentError(`${name} must be a positive number, but ${value} was provided`);
  return n;
};

const options = new Command("bench")
  .description("measure RabbitMQ alone, bare Express, and the whole pipeline on this machine")
  .option(
    "--broker-port <port>",
    "AMQP port of the broker to reuse or start",
    positive("--broker-port"),
    5672,
  )
  .option("--raw-seconds <s>", "length of (a) and (b)", positive("--raw-seconds"), 10)
  .option("--step-seconds <s>", "length of each pipeline step", positive("--step-seconds"), 30)
  .option("--max-steps <n>", "pipeline steps at most", positive("--max-steps"), 7)
  .option("--start-rate <r>", "first pipeline rate, orders/s", positive("--start-rate"), 100)
  .option("--max-rate <r>", "highest pipeline rate tried, orders/s", positive("--max-rate"), 3200)
  .option(
    "--p99-limit-ms <ms>",
    "order-to-notification p99 limit; must be a bucket bound of the histogram",
    positive("--p99-limit-ms"),
    250,
  )
  .parse()
  .opts<{
    brokerPort: number;
    rawSeconds: number;
    stepSeconds: number;
    maxSteps: number;
    startRate: number;
    maxRate: number;
    p99LimitMs: number;
  }>();

const log = (line: string) => console.log(line);

/** An order.created event as order-service publishes it, three items. */
const SAMPLE_ORDER = {
  customerId: "customer-4711",
  items: [
    { sku: "BOOK-NOMAD", quantity: 1, unitPrice: 39.9 },
    { sku: "MUG-VAULT", quantity: 2, unitPrice: 12.5 },
    { sku: "STICKER-PACK", quantity: 3, unitPrice: 1.99 },
  ],
  currency: "EUR",
};
const SAMPLE_EVENT: OrderCreated = {
  type: ROUTING_KEYS.orderCreated,
  version: EVENT_VERSION,
  id: randomUUID(),
  orderId: randomUUID(),
  occurredAt: new Date().toISOString(),
  data: {
    customerId: SAMPLE_ORDER.customerId,
    items: SAMPLE_ORDER.items,
    currency: "EUR",
    totalCents: 7087,
  },
};
const EVENT_BODY = encodeEvent(SAMPLE_EVENT);
const PREFETCH = 20;

interface Step {
  readonly rate: number;
  readonly pace: PaceResult;
  readonly accepted: number;
  readonly notified: number;
  readonly deadLettered: number;
  readonly p99Ms: number | null;
  readonly withinLimit: number;
  readonly pass: boolean;
  readonly why: string;
}

const startedAt = Date.now();
const scratch = mkdtempSync(join(tmpdir(), "orderlab-bench-"));
const { broker, started: startedBroker } = await useBroker(options.brokerPort, log);
let pipeline: LocalPipeline | undefined;
try {
  log(
    `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}, ${(
      totalmem() /
      2 ** 30
    ).toFixed(1)} GiB`,
  );
  log(`order.created body: ${EVENT_BODY.length} bytes`);
  log(`services: ${servicesRevision()}`);
  // Everything here shares the machine's cores with whatever else runs; say how busy it was.
  log(`load average at start: ${loadText()}`);

  // (a)
  const vhost = `bench-${Date.now().toString(36)}`;
  const url = await broker.createVhost(vhost);
  let raw: OneHopResult;
  try {
    log(`(a) RabbitMQ one hop for ${options.rawSeconds} s ...`);
    raw = await rabbitmqOneHop({
      url,
      body: EVENT_BODY,
      seconds: options.rawSeconds,
      maxMessages: 2_000_000,
      confirmWindow: 64,
      prefetch: PREFETCH,
    });
  } finally {
    await broker.deleteVhost(vhost);
  }
  log(
    `    ${raw.consumed}/${raw.published} messages, ${raw.perSecond.toFixed(0)}/s, latency p50 ${
      raw.latencyMs.p50
    } ms p99 ${raw.latencyMs.p99} ms`,
  );

  // (b)
  log(`(b) bare Express for ${options.rawSeconds} s ...`);
  const express = await bareExpress(options.rawSeconds);
  log(
    `    ${express.perSecond.toFixed(0)} req/s, p50 ${express.p50} ms p99 ${express.p99} ms, ${
      express.non2xx
    } non-2xx, ${express.errors} errors`,
  );

  // (c)
  log("(c) starting the pipeline (services' default settings) ...");
  pipeline = await startLocalPipeline({
    brokerPort: options.brokerPort,
    logDir: scratch,
    scrapeIntervalSeconds: 1,
    log,
    prometheus: false,
  });
  const rssBefore = await rssPerService(pipeline);
  const steps = await searchRate(pipeline);
  const rssAfter = await rssPerService(pipeline);
  const best = steps.filter((s) => s.pass).sort((a, b) => b.rate - a.rate)[0];

  log("");
  log("pipeline steps:");
  log(
    table(
      [
        "rate /s",
        "sent",
        "202",
        "notified",
        "dead-lettered",
        `≤ ${options.p99LimitMs} ms`,
        "e2e p99",
        "POST p50 / p99",
        "result",
      ],
      steps.map((s) => [
        String(s.rate),
        String(s.pace.sent),
        String(s.accepted),
        String(s.notified),
        String(s.deadLettered),
        `${(s.withinLimit * 100).toFixed(2)}%`,
        s.p99Ms === null ? "n/a" : `${s.p99Ms.toFixed(0)} ms`,
        `${s.pace.latencyMs.p50} / ${s.pace.latencyMs.p99} ms`,
        s.pass ? "pass" : `fail: ${s.why}`,
      ]),
    ),
  );
  log("");
  log(
    table(
      ["measure", "rate", "latency p50 / p99", "conditions"],
      [
        [
          "(a) RabbitMQ one hop",
          `${raw.perSecond.toFixed(0)} msg/s`,
          `${raw.latencyMs.p50} / ${raw.latencyMs.p99} ms`,
          `persistent, confirms (window 64), manual acks, prefetch ${PREFETCH}, ${EVENT_BODY.length} B`,
        ],
        [
          "(b) bare Express POST",
          `${express.perSecond.toFixed(0)} req/s`,
          `${express.p50} / ${express.p99} ms`,
          "autocannon, 64 connections, express.json()",
        ],
        [
          "(c) whole pipeline",
          best ? `${best.rate} orders/s` : "none passed",
          best?.p99Ms ? `e2e p99 ≈ ${best.p99Ms.toFixed(0)} ms` : "n/a",
          `${options.stepSeconds} s open loop, no loss, e2e p99 < ${options.p99LimitMs} ms`,
        ],
      ],
    ),
  );
  if (best) {
    log(
      `pipeline / RabbitMQ alone: ${((best.rate / raw.perSecond) * 100).toFixed(
        1,
      )}%   pipeline / bare Express: ${((best.rate / express.perSecond) * 100).toFixed(1)}%`,
    );
  }
  log("");
  log(
    table(
      ["service", "RSS before", "RSS after"],
      Object.keys(rssBefore).map((name) => [
        name,
        `${rssBefore[name]!.toFixed(1)} MiB`,
        `${(rssAfter[name] ?? 0).toFixed(1)} MiB`,
      ]),
    ),
  );
  log(`load average at the end: ${loadText()}`);
  log(
    `\nbench took ${((Date.now() - startedAt) / 1000).toFixed(0)} s; broker ${
      startedBroker ? "started for the bench" : `reused on 127.0.0.1:${options.brokerPort}`
    }`,
  );
} finally {
  if (pipeline) await pipeline.stop();
  if (startedBroker) {
    await broker.stop();
    if (broker.baseDir.startsWith(tmpdir())) rmSync(broker.baseDir, { recursive: true, force: true });
  }
  rmSync(scratch, { recursive: true, force: true });
}

/** Doubles the rate while steps pass, then halves the gap between the best pass and the first failure. */
async function searchRate(p: LocalPipeline): Promise<Step[]> {
  const steps: Step[] = [];
  const initial = await pipelineCounters(p);
  let acceptedSoFar = 0;
  let low = 0;
  let high = Number.POSITIVE_INFINITY;
  let rate = options.startRate;
  while (steps.length < options.maxSteps) {
    // A failed step can leave a backlog; measuring the next rate on top of it would blame that
    // rate for the previous one's orders. Wait until everything accepted so far is notified.
    const drained = await waitUntil(
      async () => (await pipelineCounters(p)).notified - initial.notified >= acceptedSoFar,
      90_000,
    );
    if (!drained) {
      log(
        "    the pipeline did not drain the previous step's backlog within 90 s; stopping the search",
      );
      break;
    }
    const step = await runStep(p, rate);
    steps.push(step);
    acceptedSoFar += step.accepted;
    log(`    ${rate}/s: ${step.pass ? "pass" : `fail (${step.why})`}`);
    if (step.pass) low = rate;
    else high = rate;
    const next =
      high === Number.POSITIVE_INFINITY
        ? Math.min(rate * 2, options.maxRate)
        : Math.round((low + high) / 2);
    if (
      next === rate ||
      (high !== Number.POSITIVE_INFINITY && high - low <= Math.max(10, low * 0.05))
    )
      break;
    rate = next;
  }
  return steps;
}

async function runStep(p: LocalPipeline, rate: number): Promise<Step> {
  log(`(c) ${rate} orders/s for ${options.stepSeconds} s ...`);
  const before = await pipelineCounters(p);
  const pace = await paceOrders({
    url: `${p.orderUrl}${SERVICES.order.route}`,
    body: JSON.stringify(SAMPLE_ORDER),
    rate,
    seconds: options.stepSeconds,
    maxInFlight: Math.max(500, rate * 2),
    sockets: 256,
  });
  const accepted = pace.statuses["202"] ?? 0;
  // Wait for the orders in the pipeline to be notified (bounded), then read the counters.
  let after = await pipelineCounters(p);
  const drainUntil = Date.now() + 20_000;
  while (after.notified - before.notified < accepted && Date.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 250));
    after = await pipelineCounters(p);
  }
  const notified = after.notified - before.notified;
  const deadLettered = after.deadLettered - before.deadLettered;
  const buckets = after.buckets.map((b, i) => ({
    le: b.le,
    count: b.count - (before.buckets[i]?.count ?? 0),
  }));
  const total = buckets.at(-1)?.count ?? 0;
  const limit = buckets.find((b) => Math.abs(b.le - options.p99LimitMs / 1000) < 1e-9);
  if (!limit)
    throw new Error(
      `--p99-limit-ms ${options.p99LimitMs} is not a bucket bound of order_to_notification_seconds`,
    );
  const withinLimit = total === 0 ? 0 : limit.count / total;
  const problems = [
    pace.overwhelmed ? "in-flight cap hit" : "",
    pace.errors > 0 ? `${pace.errors} request errors` : "",
    accepted < pace.sent ? `${pace.sent - accepted} not accepted` : "",
    pace.sent / pace.seconds < rate * 0.95
      ? `only ${(pace.sent / pace.seconds).toFixed(0)}/s sent`
      : "",
    notified < accepted ? `${accepted - notified} not notified 20 s after the step` : "",
    deadLettered > 0 ? `${deadLettered} dead-lettered` : "",
    withinLimit < 0.99 ? `p99 over ${options.p99LimitMs} ms` : "",
  ].filter(Boolean);
  return {
    rate,
    pace,
    accepted,
    notified,
    deadLettered,
    p99Ms: quantile(buckets, 0.99),
    withinLimit,
    pass: problems.length === 0,
    why: problems.join(", "),
  };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}

interface Counters {
  readonly notified: number;
  readonly deadLettered: number;
  /** Cumulative bucket counts of order_to_notification_seconds, le in seconds, +Inf last. */
  readonly buckets: readonly { le: number; count: number }[];
}

async function pipelineCounters(p: LocalPipeline): Promise<Counters> {
  const texts = await Promise.all(
    Object.values(p.serviceUrls).map((u) => fetch(`${u}/metrics`).then((r) => r.text())),
  );
  const notification = await fetch(`${p.notifyUrl}/metrics`).then((r) => r.text());
  const buckets = samples(notification, "order_to_notification_seconds_bucket").map((s) => ({
    le: s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le),
    count: s.value,
  }));
  buckets.sort((a, b) => a.le - b.le);
  return {
    notified: sum(samples(notification, "order_to_notification_seconds_count")),
    deadLettered: texts.reduce(
      (total, t) => total + sum(samples(t, "messages_dead_lettered_total")),
      0,
    ),
    buckets,
  };
}

async function rssPerService(p: LocalPipeline): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, u] of Object.entries(p.serviceUrls)) {
    const text = await fetch(`${u}/metrics`).then((r) => r.text());
    out[name] = sum(samples(text, "process_resident_memory_bytes")) / 2 ** 20;
  }
  return out;
}

/** The samples of one metric in a Prometheus text exposition. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(" ") + 1)) });
  }
  return out;
}

function sum(list: readonly { value: number }[]): number {
  return list.reduce((total, s) => total + s.value, 0);
}

/** histogram_quantile over cumulative buckets, linear within a bucket; null without data. */
function quantile(buckets: readonly { le: number; count: number }[], q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerLe * 1000;
      const share = b.count === lowerCount ? 0 : (rank - lowerCount) / (b.count - lowerCount);
      return (lowerLe + (b.le - lowerLe) * share) * 1000;
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return null;
}

async function bareExpress(
  seconds: number,
): Promise<{ perSecond: number; p50: number; p99: number; non2xx: number; errors: number }> {
  const child = spawn(TSX, [join(REPO_ROOT, "scripts", "bench", "bare-express.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`bare Express exited with code ${code}`)));
      createInterface({ input: child.stdout }).once("line", (line) =>
        resolve((JSON.parse(line) as { port: number }).port),
      );
    });
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/order`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(SAMPLE_ORDER),
      connections: 64,
      duration: seconds,
    });
    return {
      perSecond: result.requests.total / seconds,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  }
}

/** The commit the services run from, and whether the working tree changes them (they run from it). */
function servicesRevision(): string {
  try {
    const git = (args: string[]) =>
      execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const dirty = git(["status", "--porcelain", "--", "services", "contract"]) !== "";
    return `${git(["rev-parse", "--short", "HEAD"])}${
      dirty ? " plus uncommitted changes under services/ or contract/" : ""
    }`;
  } catch {
    return "unknown (not a git checkout)";
  }
}

function loadText(): string {
  const [one, five] = loadavg();
  const busy =
    (one ?? 0) > cpus().length * 0.5
      ? " (busy: other work competes for the cores, figures will be low)"
      : "";
  return `${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min) on ${cpus().length} cores${busy}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
