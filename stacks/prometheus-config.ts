/**
 * Prometheus' configuration as a typed object, rendered to YAML. The same rendering goes into
 * the Nomad job (through a template block) and into `jobs-export/<target>/prometheus/` where
 * `promtool check config` can read it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { PlatformSettings } from "./config.js";
import { METRICS_TAG, SCRAPE_TARGETS } from "./topology.js";

interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: "replace" | "keep" | "drop";
}

interface ConsulSdConfig {
  readonly server: string;
  readonly services: readonly string[];
  readonly tags: readonly string[];
}

interface FileSdConfig {
  readonly files: readonly string[];
  readonly refresh_interval: string;
}

interface ScrapeConfig {
  readonly job_name: string;
  readonly metrics_path: string;
  readonly consul_sd_configs?: readonly ConsulSdConfig[];
  readonly file_sd_configs?: readonly FileSdConfig[];
  readonly relabel_configs: readonly RelabelConfig[];
}

export interface PrometheusConfig {
  readonly global: { readonly scrape_interval: string; readonly evaluation_interval: string };
  readonly rule_files: readonly string[];
  readonly scrape_configs: readonly ScrapeConfig[];
}

/** Directory of the rule files, relative to prometheus.yml wherever it is rendered. */
export const RULES_DIR = "rules";

/** Directory of the file_sd files rendered from Consul, relative to prometheus.yml. */
export const TARGETS_DIR = "targets";

/** Consul service metadata key a registration sets to be scraped on another path. */
export const METRICS_PATH_META = "metrics_path";

export function prometheusConfig(settings: PlatformSettings): PrometheusConfig {
  const interval = `${settings.prometheus.scrapeIntervalSeconds}s`;
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [`${RULES_DIR}/*.yml`],
    scrape_configs: [
      {
        // The job label is replaced by the Consul service name below.
        job_name: "consul-services",
        metrics_path: "/metrics",
        ...(settings.prometheus.discovery === "consul-sd"
          ? { consul_sd_configs: [{ server: settings.consulAddress, services: [...SCRAPE_TARGETS], tags: [METRICS_TAG] }] }
          : { file_sd_configs: [{ files: [`${TARGETS_DIR}/*.yml`], refresh_interval: interval }] }),
        // The file_sd file carries the same __meta_consul_* labels, so one relabelling serves both.
        relabel_configs: [
          { source_labels: ["__meta_consul_service"], target_label: "job" },
          { source_labels: ["__address__"], target_label: "instance" },
          {
            source_labels: [`__meta_consul_service_metadata_${METRICS_PATH_META}`],
            regex: "(.+)",
            target_label: "__metrics_path__",
          },
        ],
      },
    ],
  };
}

export const renderPrometheusConfig = (settings: PlatformSettings): string =>
  stringify(prometheusConfig(settings), { lineWidth: 0 });

const OBSERVABILITY_DIR = fileURLToPath(new URL("../observability/", import.meta.url));

/** The rule files shared with docker compose, by file name. */
export function ruleFiles(): { name: string; content: string }[] {
  const dir = join(OBSERVABILITY_DIR, "prometheus", "rules");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .sort()
    .map((name) => ({ name, content: readFileSync(join(dir, name), "utf8") }));
}

/** Files under observability/grafana/<sub>, by path relative to it. */
export function grafanaFiles(sub: "dashboards" | "provisioning/datasources" | "provisioning/dashboards"): {
  name: string;
  content: string;
}[] {
  const dir = join(OBSERVABILITY_DIR, "grafana", sub);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json") || f.endsWith(".yml"))
    .sort()
    .map((name) => ({ name, content: readFileSync(join(dir, name), "utf8") }));
}
