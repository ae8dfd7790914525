import { describe, expect, test } from "vitest";
import {
  PNG_SIGNATURE,
  bucketLabel,
  comparisonSpec,
  e2eSpec,
  latencyPoints,
  latencySpec,
  queueDepthPoints,
  queueDepthSpec,
  renderPng,
  throughputPoints,
  throughputSpec,
} from "../../scripts/campaign/charts.js";
import type { HistoryRow } from "../../scripts/campaign/locust-csv.js";
import { bucketCounts, deltaExpr, prometheusConfig } from "../../scripts/campaign/prometheus.js";

const START = 1_800_000_000;

const history = (t: number, users: number, name = "Aggregated", type = ""): HistoryRow => ({
  timestamp: START + t,
  users,
  type,
  name,
  requestsPerSecond: users * 2,
  failuresPerSecond: 0,
  percentiles: { "50%": 5 + t, "95%": 20 + t, "99%": 40 + t },
  totalRequests: 10 * t + 1,
  totalFailures: 0,
});

const series = (labels: Record<string, string>, values: number[]) => ({
  labels,
  points: values.map((v, i) => [START + 2 * i, v] as const),
});

async function expectPng(png: Buffer): Promise<void> {
  expect(png.length).toBeGreaterThan(5000);
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
}

describe("charts", () => {
  test("latency percentiles over time render to a PNG", async () => {
    const points = latencyPoints(
      [history(1, 5, "/order", "POST"), history(2, 5, "/order", "POST")],
      {
        p95: series({ service: "order-service" }, [0.01, 0.012]),
      },
      START,
    );

    expect(points.filter((p) => p.source === "server (Prometheus)")).toEqual([
      { t: 0, ms: 10, percentile: "p95", source: "server (Prometheus)" },
      { t: 2, ms: 12, percentile: "p95", source: "server (Prometheus)" },
    ]);
    await expectPng(await renderPng(latencySpec(points)));
  });

  test("throughput vs users keeps Locust's total next to the Prometheus rates", async () => {
    const data = throughputPoints(
      [history(1, 5), history(2, 10)],
      { "orders accepted/s": [series({}, [3, 4])] },
      START,
    );

    expect(data.users.map((u) => u.value)).toEqual([5, 10]);
    expect(new Set(data.rates.map((r) => r.series))).toEqual(
      new Set(["orders accepted/s", "HTTP requests/s (Locust)"]),
    );
    await expectPng(await renderPng(throughputSpec(data)));
  });

  test("the end-to-end histogram renders as bars, or as Locust's percentiles when empty", async () => {
    const buckets = bucketCounts([
      { le: "0.025", cumulative: 3 },
      { le: "+Inf", cumulative: 10 },
      { le: "0.05", cumulative: 9 },
    ]);

    expect(buckets).toEqual([
      { le: "0.025", count: 3 },
      { le: "0.05", count: 6 },
      { le: "+Inf", count: 1 },
    ]);
    expect(e2eSpec(buckets, {})).toMatchObject({ mark: { type: "bar" } });
    expect(e2eSpec([], { "50%": 30, "95%": 60 })).toMatchObject({ mark: { type: "line" } });
    await expectPng(await renderPng(e2eSpec(buckets, { "50%": 30, "95%": 60, "99%": 80 })));
  });

  test("queue depth renders, also when RabbitMQ gave no series", async () => {
    const points = queueDepthPoints(
      [series({ queue: "payment-service.order-created" }, [0, 4, 1])],
      START,
    );

    expect(points.map((p) => p.value)).toEqual([0, 4, 1]);
    await expectPng(await renderPng(queueDepthSpec(points)));
    await expectPng(await renderPng(queueDepthSpec([])));
  });

  test("the comparison chart renders two runs side by side", async () => {
    const png = await renderPng(
      comparisonSpec(
        [
          { metric: "order p95", run: "A", value: 20 },
          { metric: "order p95", run: "B", value: 30 },
        ],
        [
          { metric: "orders/s", run: "A", value: 50 },
          { metric: "orders/s", run: "B", value: 45 },
        ],
        "A vs B",
      ),
    );

    await expectPng(png);
  });

  test.each([
    ["0.005", undefined, "< 5 ms"],
    ["0.05", "0.025", "25-50 ms"],
    ["1", "0.5", "500 ms-1 s"],
    ["5", "2.5", "2.5-5 s"],
    ["+Inf", "30", "> 30 s"],
  ])("names the bucket le=%s after %s as %s", (le, previous, label) => {
    expect(bucketLabel(le, previous)).toBe(label);
  });
});

describe("prometheus queries", () => {
  test("a counter delta counts series born during the run from zero", () => {
    expect(deltaExpr("x_total", "service", "60s")).toBe(
      "sum by (service) (x_total) - ((sum by (service) (x_total offset 60s)) or (sum by (service) (x_total) * 0))",
    );
  });

  test("the generated config scrapes every target and loads the rule files", () => {
    const yaml = prometheusConfig(
      [{ job: "order-service", address: "127.0.0.1:3100" }],
      ["/rules/http.yml"],
      2,
    );

    expect(yaml).toContain("scrape_interval: 2s");
    expect(yaml).toContain("- /rules/http.yml");
    expect(yaml).toContain("- 127.0.0.1:3100");
  });
});
