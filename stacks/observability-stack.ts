/**
 * Prometheus and Grafana. Prometheus finds every scrape target in Consul and loads the rule
 * files of observability/prometheus/rules; Grafana is provisioned with its datasource and the
 * dashboards of observability/grafana. Both are served by Traefik under a path prefix.
 *
 * The lab machine has no Grafana package: with `grafana.deploy` false the job is still built
 * (and exported by `npm run jobs:export`) but not registered with Nomad.
 */
import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import type { PlatformSettings } from "./config.js";
import type { Job } from "./nomad/model.js";
import { NomadJob } from "./nomad/nomad-job.js";
import { serviceJob } from "./nomad/service-job.js";
import {
  grafanaFiles,
  METRICS_PATH_META,
  renderPrometheusConfig,
  ruleFiles,
  RULES_DIR,
  TARGETS_DIR,
} from "./prometheus-config.js";
import * as providers from "./providers.js";
import { WEB_ENTRYPOINT } from "./services-stack.js";
import { consulTargetsFile, grafanaEnv, verbatimFile } from "./templates.js";
import { GRAFANA_ADMIN_SECRET, METRICS_TAG, PLATFORM, PUBLIC_ROUTES, SCRAPE_TARGETS } from "./topology.js";
import { secretSource, vaultAccess, vaultIdentities } from "./vault-access.js";

const routeOf = (service: string): string => {
  const route = PUBLIC_ROUTES.find((r) => r.service === service);
  if (!route) throw new Error(`no public route is declared for "${service}" in topology.ts`);
  return route.pathPrefix;
};

export function prometheusJob(settings: PlatformSettings): Job {
  const p = settings.prometheus;
  const prefix = routeOf(PLATFORM.prometheus);
  return serviceJob({
    name: PLATFORM.prometheus,
    region: settings.region,
    datacenters: settings.datacenters,
    program: {
      artifact: p.artifact,
      hostNetwork: true,
      args: [
        "--config.file=${NOMAD_TASK_DIR}/prometheus.yml",
        "--storage.tsdb.path=${NOMAD_ALLOC_DIR}/data/prometheus",
        `--storage.tsdb.retention.time=${p.retentionHours}h`,
        `--web.listen-address=${settings.bindAddress}:${p.port}`,
        `--web.external-url=${settings.traefik.publicUrl}${prefix}/`,
        `--web.route-prefix=${prefix}`,
      ],
    },
    ports: [{ label: "http", static: p.port }],
    services: [
      {
        name: PLATFORM.prometheus,
        portLabel: "http",
        check: { type: "http", path: `${prefix}/-/healthy` },
        route: { name: PLATFORM.prometheus, pathPrefix: prefix, entrypoint: WEB_ENTRYPOINT },
      },
    ],
    templates: [
      verbatimFile(renderPrometheusConfig(settings), "local/prometheus.yml", "signal"),
      ...ruleFiles().map((f) => verbatimFile(f.content, `local/${RULES_DIR}/${f.name}`, "signal")),
      ...(p.discovery === "consul-template"
        ? [consulTargetsFile(SCRAPE_TARGETS, METRICS_TAG, METRICS_PATH_META, `local/${TARGETS_DIR}/consul.yml`)]
        : []),
    ],
    resources: p.resources,
  });
}

export function grafanaJob(settings: PlatformSettings): Job {
  const g = settings.grafana;
  const prefix = routeOf(PLATFORM.grafana);
  return serviceJob({
    name: PLATFORM.grafana,
    region: settings.region,
    datacenters: settings.datacenters,
    program: {
      artifact: g.artifact,
      hostNetwork: true,
      ...(g.artifact.kind === "binary" ? { args: ["--homepath", "/usr/share/grafana"] } : {}),
    },
    ports: [{ label: "http", static: g.port }],
    services: [
      {
        name: PLATFORM.grafana,
        portLabel: "http",
        check: { type: "http", path: `${prefix}/api/health` },
        route: { name: PLATFORM.grafana, pathPrefix: prefix, entrypoint: WEB_ENTRYPOINT },
      },
    ],
    env: {
      GF_SERVER_HTTP_ADDR: settings.bindAddress,
      GF_SERVER_HTTP_PORT: String(g.port),
      GF_SERVER_ROOT_URL: `${settings.traefik.publicUrl}${prefix}/`,
      GF_SERVER_SERVE_FROM_SUB_PATH: "true",
      GF_PATHS_PROVISIONING: "${NOMAD_TASK_DIR}/provisioning",
      GF_PATHS_DATA: "${NOMAD_ALLOC_DIR}/data/grafana",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      DASHBOARDS_DIR: "${NOMAD_TASK_DIR}/dashboards",
    },
    templates: [
      grafanaEnv(secretSource(settings, PLATFORM.grafana), GRAFANA_ADMIN_SECRET, routeOf(PLATFORM.prometheus)),
      ...grafanaFiles("provisioning/datasources").map((f) =>
        verbatimFile(f.content, `local/provisioning/datasources/${f.name}`),
      ),
      ...grafanaFiles("provisioning/dashboards").map((f) =>
        verbatimFile(f.content, `local/provisioning/dashboards/${f.name}`),
      ),
      ...grafanaFiles("dashboards").map((f) => verbatimFile(f.content, `local/dashboards/${f.name}`, "noop")),
    ],
    vault: vaultAccess(settings, PLATFORM.grafana),
    identities: vaultIdentities(settings),
    resources: g.resources,
  });
}

export class ObservabilityStack extends TerraformStack {
  public readonly prometheus: NomadJob;
  /** Absent when the target does not deploy Grafana (`grafana.deploy`). */
  public readonly grafana?: NomadJob;

  public constructor(scope: Construct, id: string, settings: PlatformSettings) {
    super(scope, id);

    providers.nomad(this, settings);

    this.prometheus = new NomadJob(this, "prometheus", { job: prometheusJob(settings) });
    if (settings.grafana.deploy) {
      this.grafana = new NomadJob(this, "grafana", { job: grafanaJob(settings) });
    }
  }
}
