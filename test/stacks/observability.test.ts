import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { SERVICE_LABEL } from "../../contract/index.js";
import { settingsFor, TARGETS } from "../../stacks/config.js";
import { renderPrometheusConfig, ruleFiles, RULES_DIR } from "../../stacks/prometheus-config.js";
import { SCRAPE_TARGETS } from "../../stacks/topology.js";
import { prometheusJob } from "../../stacks/observability-stack.js";
import { KNOWN_METRICS, metricNames } from "./support/metric-catalog.js";

const ROOT = new URL("../../observability/", import.meta.url).pathname;
const PROMTOOL = "/usr/bin/promtool";

interface RuleGroup {
  name: string;
  rules: { record?: string; alert?: string; expr: string }[];
}

const groups: RuleGroup[] = ruleFiles().flatMap((f) => (parse(f.content) as { groups: RuleGroup[] }).groups);
const recorded = new Set(groups.flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => !!r)));

const dashboards = readdirSync(join(ROOT, "grafana/dashboards"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(ROOT, "grafana/dashboards", f), "utf8")) as Dashboard }));

interface Dashboard {
  uid: string;
  title: string;
  panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
}

const unknownMetrics = (expr: string): string[] =>
  metricNames(expr).filter((name) => !KNOWN_METRICS.has(name) && !recorded.has(name));

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.each(TARGETS)("Prometheus configuration for %s", (target) => {
  test("passes promtool check config, rule files included", () => {
    // GIVEN the rendered configuration next to the rule files, as the job lays them out
    const dir = mkdtempSync(join(tmpdir(), `orderlab-prom-${target}-`));
    dirs.push(dir);
    mkdirSync(join(dir, RULES_DIR));
    for (const f of ruleFiles()) writeFileSync(join(dir, RULES_DIR, f.name), f.content);
    const settings = settingsFor(target);
    let rendered = renderPrometheusConfig(settings);
    if (settings.prometheus.discovery === "consul-sd") {
      // Debian's promtool is built without Consul discovery and rejects consul_sd_configs; the
      // block is swapped for file_sd so promtool still checks everything else.
      const config = parse(rendered) as { scrape_configs: Record<string, unknown>[] };
      expect(config.scrape_configs[0]?.consul_sd_configs).toBeDefined();
      for (const scrape of config.scrape_configs) {
        delete scrape.consul_sd_configs;
        scrape.file_sd_configs = [{ files: ["targets/*.yml"] }];
      }
      rendered = stringify(config);
    }
    writeFileSync(join(dir, "prometheus.yml"), rendered);

    // WHEN promtool checks it
    const output = execFileSync(PROMTOOL, ["check", "config", join(dir, "prometheus.yml")], { encoding: "utf8" });

    // THEN the config and both rule files are valid
    expect(output).toContain("SUCCESS");
    expect(output).toMatch(/SUCCESS: \d+ rules found[\s\S]*SUCCESS: \d+ rules found/);
  });

  test("discovers the scrape targets through Consul and relabels job and instance", () => {
    const settings = settingsFor(target);
    const config = parse(renderPrometheusConfig(settings)) as {
      scrape_configs: {
        consul_sd_configs?: { server: string; services: string[]; tags: string[] }[];
        file_sd_configs?: { files: string[] }[];
        relabel_configs: { source_labels: string[]; target_label: string }[];
      }[];
    };
    const scrape = config.scrape_configs[0]!;
    if (settings.prometheus.discovery === "consul-sd") {
      expect(scrape.consul_sd_configs?.[0]?.services.sort()).toEqual([...SCRAPE_TARGETS].sort());
      expect(scrape.consul_sd_configs?.[0]?.tags).toEqual(["metrics"]);
    } else {
      // the file_sd file is rendered from Consul by the job's template
      expect(scrape.file_sd_configs).toEqual([expect.objectContaining({ files: ["targets/*.yml"] })]);
      const job = prometheusJob(settings);
      const targets = job.TaskGroups[0]?.Tasks[0]?.Templates?.find((t) => t.DestPath === "local/targets/consul.yml");
      for (const name of SCRAPE_TARGETS) expect(targets?.EmbeddedTmpl).toContain(`service "metrics.${name}"`);
    }
    expect(scrape.relabel_configs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source_labels: ["__meta_consul_service"], target_label: "job" }),
        expect.objectContaining({ target_label: "instance" }),
        expect.objectContaining({ target_label: "__metrics_path__" }),
      ]),
    );
  });
});

describe("rules", () => {
  test("pass promtool check rules", () => {
    const files = readdirSync(join(ROOT, "prometheus/rules")).map((f) => join(ROOT, "prometheus/rules", f));
    const output = execFileSync(PROMTOOL, ["check", "rules", ...files], { encoding: "utf8" });
    expect(output.match(/SUCCESS/g)).toHaveLength(files.length);
  });

  test("cover latency, error rate, queue backlog and dead-lettered messages", () => {
    const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert)).filter(Boolean);
    expect(alerts).toEqual(
      expect.arrayContaining(["HttpLatencyHigh", "HttpErrorRateHigh", "QueueBacklogGrowing", "MessagesDeadLettered"]),
    );
  });

  test("reference only known metrics", () => {
    for (const rule of groups.flatMap((g) => g.rules)) {
      expect({ rule: rule.record ?? rule.alert, unknown: unknownMetrics(rule.expr) }).toEqual({
        rule: rule.record ?? rule.alert,
        unknown: [],
      });
    }
  });
});

describe("dashboards", () => {
  test("parse and use the provisioned Prometheus datasource", () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(["messaging.json", "services.json"]);
    const datasources = parse(readFileSync(join(ROOT, "grafana/provisioning/datasources/prometheus.yml"), "utf8")) as {
      datasources: { uid: string }[];
    };
    const uid = datasources.datasources[0]?.uid;
    for (const { json } of dashboards) {
      expect(json.uid).toMatch(/^orderlab-/);
      for (const panel of json.panels) expect(panel.datasource.uid).toBe(uid);
    }
  });

  test("every PromQL expression references only known metrics", () => {
    const exprs = dashboards.flatMap((d) => d.json.panels.flatMap((p) => p.targets.map((t) => t.expr)));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      expect(metricNames(expr).length).toBeGreaterThan(0);
      expect({ expr, unknown: unknownMetrics(expr) }).toEqual({ expr, unknown: [] });
    }
  });

  test("show latency, throughput, CPU, memory, response time, end-to-end percentiles and queue depth", () => {
    const exprs = dashboards.flatMap((d) => d.json.panels.flatMap((p) => p.targets.map((t) => t.expr))).join("\n");
    for (const metric of [
      "http_request_duration_seconds_bucket",
      "http_request_duration_seconds_count",
      "http_request_duration_seconds_sum",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "order_to_notification_seconds_bucket",
      "rabbitmq_queue_messages_ready",
      "rabbitmq_queue_messages_unacked",
    ]) {
      expect(exprs).toContain(metric);
    }
  });

  test("service panels group by the service label", () => {
    const exprs = dashboards.flatMap((d) => d.json.panels.flatMap((p) => p.targets.map((t) => t.expr)));
    const perService = exprs.filter((e) => /http_request_duration|process_|nodejs_/.test(e));
    for (const expr of perService) expect(expr).toContain(SERVICE_LABEL);
  });
});

describe("metric name extraction", () => {
  test("finds metrics and skips functions, labels and grouping clauses", () => {
    expect(
      metricNames('sum by (service, le) (rate(http_request_duration_seconds_bucket{status_code=~"5.."}[5m])) / on (service) x:y'),
    ).toEqual(["http_request_duration_seconds_bucket", "x:y"]);
  });

  test("fails if a dashboard used a metric outside the catalog", () => {
    expect(unknownMetrics("rate(orders_created_total[1m])")).toEqual(["orders_created_total"]);
  });
});
