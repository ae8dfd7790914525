/**
 * The real thing, once: `npm run campaign -- --scenario smoke --target local` shortened to 15 s,
 * against a broker of its own (TEST_CAMPAIGN_RABBITMQ_PORT, default 5695: reused if one answers
 * there, else started and stopped by the campaign) and services on free ports.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PNG_SIGNATURE } from "../../scripts/campaign/charts.js";
import { CHART_FILES } from "../../scripts/campaign/report.js";
import type { Summary } from "../../scripts/campaign/summary.js";
import { REPO_ROOT, TSX } from "../../scripts/lib/paths.js";

const run = promisify(execFile);
const BROKER_PORT = process.env.TEST_CAMPAIGN_RABBITMQ_PORT ?? "5695";

describe("smoke campaign on the local pipeline", () => {
  const out = mkdtempSync(join(tmpdir(), "orderlab-campaign-test-"));
  let dir: string;
  let stdout: string;

  beforeAll(async () => {
    const result = await run(
      TSX,
      [
        "scripts/campaign.ts",
        "--scenario",
        "smoke",
        "--target",
        "local",
        "--duration",
        "15",
        "--broker-port",
        BROKER_PORT,
        "--out",
        out,
        "--no-progress",
      ],
      { cwd: REPO_ROOT, timeout: 220_000, maxBuffer: 16 * 2 ** 20 },
    );
    stdout = result.stdout;
    const folders = readdirSync(out).filter((f) => f.startsWith("smoke-"));
    expect(folders).toHaveLength(1);
    dir = join(out, folders[0]!);
  }, 230_000);

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  test("passes, and says so on the console", () => {
    expect(stdout).toContain("verdict: pass");
    expect(stdout).toMatch(/pass {2}order-to-notification p95/);
  });

  test("keeps Locust's CSV files and HTML report", () => {
    for (const file of [
      "locust_stats.csv",
      "locust_stats_history.csv",
      "locust_failures.csv",
      "locust.html",
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect(readFileSync(join(dir, "locust_stats.csv"), "utf8")).toContain("POST,/order,");
    expect(readFileSync(join(dir, "locust.html"), "utf8")).toContain("<html");
  });

  test("writes a summary with requests, orders followed to notification, server figures and a pass verdict", () => {
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as Summary;

    expect(summary.verdict).toBe("pass");
    expect(summary.locust.requests).toBeGreaterThan(0);
    expect(summary.orders.placed).toBeGreaterThan(0);
    expect(summary.e2e.followed).toBeGreaterThan(0);
    expect(summary.e2e.failed).toBe(0);
    expect(summary.prometheus).not.toBeNull();
    expect(summary.prometheus!.httpRequestsPerSecond["order-service"]).toBeGreaterThan(0);
    expect(summary.prometheus!.messagesConsumedPerSecond["payment-service"]).toBeGreaterThan(0);
    expect(summary.prometheus!.orderToNotificationMs.p95).toBeGreaterThan(0);
    expect(summary.prometheus!.deadLettered).toBe(0);
    expect(Object.keys(summary.prometheus!.queueDepthMax)).toContain(
      "payment-service.order-created",
    );
    expect(Object.keys(summary.prometheus!.memoryMiB).sort()).toEqual([
      "notification-service",
      "order-service",
      "payment-service",
    ]);
  });

  test("draws the four charts as PNG files", () => {
    for (const file of Object.values(CHART_FILES)) {
      const png = readFileSync(join(dir, file));
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE), file).toBe(true);
      expect(statSync(join(dir, file)).size, file).toBeGreaterThan(10_000);
    }
  });

  test("writes report.md citing the verdict, the figures and the charts", () => {
    const report = readFileSync(join(dir, "report.md"), "utf8");

    expect(report).toMatch(/^# Campaign `smoke` on `local`: PASS/);
    expect(report).toMatch(/valid orders placed/);
    expect(report).toMatch(/\| order-service \| [\d.]+ \|/);
    for (const file of Object.values(CHART_FILES)) expect(report).toContain(`](${file})`);
  });
});
