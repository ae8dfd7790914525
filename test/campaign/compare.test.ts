import { describe, expect, test } from "vitest";
import { comparisonBars } from "../../scripts/campaign/compare.js";
import { change, comparisonMarkdown, comparisonRows } from "../../scripts/campaign/report.js";
import type { Summary } from "../../scripts/campaign/summary.js";

const summary = (ordersPerSecond: number, p95: number, deadLettered: number): Summary =>
  ({
    schemaVersion: 1,
    scenario: "baseline",
    target: "local",
    locust: {
      exitCode: 0,
      requests: 1000,
      failures: 0,
      failureRatio: 0,
      requestsPerSecond: ordersPerSecond * 1.5,
      peakUsers: 100,
      entries: [],
    },
    orders: {
      placed: 900,
      failed: 0,
      perSecond: ordersPerSecond,
      latencyMs: { p50: 5, p95, p99: p95 * 2 },
    },
    e2e: { followed: 100, failed: 0, latencyMs: { p50: 30, p95: 60, p99: null } },
    prometheus: {
      httpRequestsPerSecond: {},
      messagesConsumedPerSecond: {},
      httpLatencyMs: {},
      orderToNotificationMs: { p50: null, p95: null, p99: null },
      queueDepthMax: {
        "payment-service.order-created": 12,
        "payment-service.order-created.dlq": 0,
      },
      deadLettered,
      cpuCores: {},
      memoryMiB: {},
    },
    checks: [],
    verdict: "pass",
  } as unknown as Summary);

describe("comparison", () => {
  test("rows pair each figure of A with the same figure of B", () => {
    const rows = comparisonRows(summary(50, 20, 0), summary(40, 30, 2));

    expect(rows.find((r) => r.figure === "orders/s")).toEqual({
      figure: "orders/s",
      unit: "/s",
      better: "higher",
      a: 50,
      b: 40,
    });
    expect(rows.find((r) => r.figure === "POST /order p95")).toMatchObject({
      a: 20,
      b: 30,
      better: "lower",
    });
    expect(rows.find((r) => r.figure === "dead-lettered")).toMatchObject({ a: 0, b: 2 });
    expect(rows.find((r) => r.figure === "peak queue depth")).toMatchObject({ a: 12, b: 12 });
    expect(rows.find((r) => r.figure === "order-to-notification p99")).toMatchObject({
      a: null,
      b: null,
    });
  });

  test("the table shows both values and the change from A to B", () => {
    const table = comparisonMarkdown(
      "run-a",
      "run-b",
      comparisonRows(summary(50, 20, 0), summary(40, 30, 0)),
    );

    expect(table.split("\n")[0]).toBe("| Figure | A: run-a | B: run-b | B vs A | Better |");
    expect(table).toContain("| orders/s | 50/s | 40/s | -20.0% | higher |");
    expect(table).toContain("| POST /order p95 | 20 ms | 30 ms | +50.0% | lower |");
    expect(table).toContain("| order-to-notification p99 | n/a | n/a | n/a | lower |");
  });

  test.each([
    [100, 110, "+10.0%"],
    [100, 90, "-10.0%"],
    [0, 0, "0%"],
    [0, 5, "n/a"],
    [null, 5, "n/a"],
  ])("the change from %s to %s reads %s", (a, b, text) => {
    expect(change(a, b)).toBe(text);
  });

  test("the chart's bars leave out figures a run does not have", () => {
    const { latency, rates } = comparisonBars([
      { label: "A", summary: summary(50, 20, 0) },
      { label: "B", summary: summary(40, 30, 0) },
    ]);

    expect(latency.filter((b) => b.metric === "e2e p99")).toEqual([]);
    expect(latency.filter((b) => b.metric === "order p95").map((b) => [b.run, b.value])).toEqual([
      ["A", 20],
      ["B", 30],
    ]);
    expect(rates.map((b) => b.metric)).toEqual([
      "requests/s",
      "orders/s",
      "requests/s",
      "orders/s",
    ]);
  });
});
