import { describe, expect, test } from "vitest";
import { parseCsv, parseHistoryCsv, parseStatsCsv } from "../../scripts/campaign/locust-csv.js";
import { loadScenarios, parseDuration, scenarioSeconds } from "../../scripts/campaign/scenarios.js";
import {
  computeSummary,
  evaluateThresholds,
  type RunMeta,
} from "../../scripts/campaign/summary.js";

const STATS = `Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/notify/[orderId],13,0,2,1.65,1.16,2.75,197.3,1.62,0.0,2,2,2,2,2,3,3,3,3,3,3
POST,/order,42,1,7,11.9,3.7,98.3,69.0,5.25,0.1,7,8,8,10,26,29,98,98,98,98,98
POST,/order [invalid],3,0,3.1,4.7,3.1,7.6,193.3,0.37,0.0,3,3,8,8,8,8,8,8,8,8,8
E2E,order-to-notification,7,0,38,43.5,33.3,62.4,0.0,0.87,0.0,38,38,62,62,62,62,62,62,62,62,62
,Aggregated,65,1,5,11.8,0.7,98.3,118.9,9.01,0.1,5,7,8,11,35,54,62,98,98,98,98
`;

const HISTORY = `Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size
1796326901,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0.0,0,0,0
1796326902,5,POST,/order,4.000000,0.000000,7,8,8,10,26,29,98,98,98,98,98,4,0,7,11.9,3.7,98.3,69.0
1796326903,5,,Aggregated,9.000000,0.000000,5,7,8,11,35,54,62,98,98,98,98,20,0,5,11.8,0.7,98.3,118.9
`;

const THRESHOLDS = { max_failure_ratio: 0.05, max_order_p95_ms: 500, max_e2e_p95_ms: 1000 };

const meta = (overrides: Partial<RunMeta> = {}): RunMeta => ({
  scenario: "smoke",
  description: "test",
  target: "local",
  startedAt: "2026-12-03T19:41:41.000Z",
  endedAt: "2026-12-03T19:41:49.000Z",
  host: "http://127.0.0.1:3100",
  notifyHost: "http://127.0.0.1:3102",
  prometheusUrl: null,
  locustExitCode: 0,
  thresholds: THRESHOLDS,
  ...overrides,
});

describe("Locust CSV", () => {
  test("quoted fields keep their commas and doubled quotes", () => {
    expect(parseCsv('a,"b,c","say ""hi"""\r\n1,2,3\n')).toEqual([
      ["a", "b,c", 'say "hi"'],
      ["1", "2", "3"],
    ]);
  });

  test("the stats file gives counts and percentiles per request name", () => {
    const rows = parseStatsCsv(STATS);

    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatchObject({ type: "POST", name: "/order", requests: 42, failures: 1 });
    expect(rows[1]!.percentiles["95%"]).toBe(29);
    expect(rows[4]).toMatchObject({ type: "", name: "Aggregated", requests: 65 });
  });

  test("the history file leaves N/A percentiles out", () => {
    const rows = parseHistoryCsv(HISTORY);

    expect(rows[0]!.percentiles).toEqual({});
    expect(rows[2]).toMatchObject({ users: 5, requestsPerSecond: 9, totalRequests: 20 });
    expect(rows[2]!.percentiles["99%"]).toBe(98);
  });
});

describe("summary", () => {
  test("a clean run passes, with its figures taken from the right rows", () => {
    const summary = computeSummary(meta(), parseStatsCsv(STATS), parseHistoryCsv(HISTORY), null);

    expect(summary.verdict).toBe("pass");
    expect(summary.durationSeconds).toBe(8);
    expect(summary.locust).toMatchObject({ requests: 65, failures: 1, peakUsers: 5 });
    expect(summary.locust.failureRatio).toBeCloseTo(1 / 65, 6);
    expect(summary.orders).toMatchObject({
      placed: 42,
      failed: 1,
      latencyMs: { p50: 7, p95: 29, p99: 98 },
    });
    expect(summary.e2e).toMatchObject({
      followed: 7,
      failed: 0,
      latencyMs: { p50: 38, p95: 62, p99: 62 },
    });
    expect(summary.locust.entries.map((e) => e.name)).not.toContain("Aggregated");
  });

  test("fails if Locust exited non-zero, even when the figures are within limits", () => {
    const summary = computeSummary(meta({ locustExitCode: 1 }), parseStatsCsv(STATS), [], null);

    expect(summary.verdict).toBe("fail");
    expect(summary.checks.find((c) => c.name === "locust exit code")).toMatchObject({
      ok: false,
      actual: "1",
    });
  });

  test("fails if there are no CSV rows at all", () => {
    const summary = computeSummary(meta(), [], [], null);

    expect(summary.verdict).toBe("fail");
    expect(summary.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      "requests made",
      "failure ratio",
      "POST /order p95",
    ]);
  });
});

describe("thresholds", () => {
  const good = {
    requests: 100,
    failureRatio: 0,
    orders: 80,
    orderP95Ms: 40,
    followed: 10,
    e2eP95Ms: 90,
    locustExitCode: 0,
  };

  test("every check passes within the limits", () => {
    const checks = evaluateThresholds(good, THRESHOLDS);

    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ["requests made", true],
      ["failure ratio", true],
      ["POST /order p95", true],
      ["order-to-notification p95", true],
      ["locust exit code", true],
    ]);
  });

  test.each([
    ["failure ratio", { failureRatio: 0.06 }, "0.0600"],
    ["POST /order p95", { orderP95Ms: 501 }, "501 ms"],
    ["order-to-notification p95", { e2eP95Ms: 1200 }, "1200 ms"],
    ["locust exit code", { locustExitCode: null }, "none (killed)"],
  ])("fails %s past its limit", (name, change, actual) => {
    const failed = evaluateThresholds({ ...good, ...change }, THRESHOLDS).filter((c) => !c.ok);

    expect(failed).toEqual([expect.objectContaining({ name, actual })]);
  });

  test("a limit reached exactly still passes", () => {
    const checks = evaluateThresholds(
      { ...good, failureRatio: 0.05, orderP95Ms: 500, e2eP95Ms: 1000 },
      THRESHOLDS,
    );

    expect(checks.every((c) => c.ok)).toBe(true);
  });

  test("without followed orders there is no end-to-end check", () => {
    const checks = evaluateThresholds({ ...good, followed: 0, e2eP95Ms: null }, THRESHOLDS);

    expect(checks.map((c) => c.name)).not.toContain("order-to-notification p95");
  });
});

describe("scenarios", () => {
  test("every campaign scenario has stages, a time limit and thresholds", () => {
    const scenarios = loadScenarios();

    for (const name of ["smoke", "baseline", "step", "spike", "soak"]) {
      const s = scenarios[name]!;
      expect(s.stages.length, name).toBeGreaterThan(0);
      expect(scenarioSeconds(s), name).toBeGreaterThan(0);
      expect(scenarioSeconds(s), name).toBeLessThanOrEqual(3600);
      expect(s.thresholds.max_failure_ratio, name).toBeLessThan(1);
    }
    expect(scenarios.baseline!.stages[0]).toMatchObject({ users: 100, spawn_rate: 10 });
  });

  test.each([
    ["90", 90],
    ["90s", 90],
    ["5m", 300],
    ["1h30m", 5400],
    ["1.5s", 1.5],
  ])("reads the duration %s as %d s", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each(["", "5 minutes", "0", "-3s", "5x"])("fails if the duration is %j", (text) => {
    expect(() => parseDuration(text)).toThrow(/--duration must/);
  });
});
