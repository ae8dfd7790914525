/**
 * The three application services. In the lab they run from this checkout under raw_exec
 * (`node_modules/.bin/tsx services/<name>/main.ts`); in the cluster from their images.
 * RABBITMQ_URL comes from a template reading the secrets store (Vault, or the job's Nomad
 * Variables with `secretsStore = nomad-variables`), with the broker found through Consul.
 */
import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { OPERATIONAL_PATHS, SERVICES, type ServiceKey } from "../contract/index.js";
import { serviceImage, type PlatformSettings } from "./config.js";
import type { PortSpec } from "./nomad/group.js";
import type { Job } from "./nomad/model.js";
import { NomadJob } from "./nomad/nomad-job.js";
import type { ProgramProps } from "./nomad/program.js";
import { serviceJob } from "./nomad/service-job.js";
import * as providers from "./providers.js";
import { AMQP_TAG } from "./messaging-stack.js";
import { brokerUrlEnv } from "./templates.js";
import { METRICS_TAG, brokerSecretName } from "./topology.js";
import { secretSource, vaultAccess, vaultIdentities } from "./vault-access.js";

/** Name of Traefik's public entrypoint. */
export const WEB_ENTRYPOINT = "web";

export const SERVICE_KEYS = Object.keys(SERVICES) as ServiceKey[];

/** payment-service's journal, kept across task restarts in the allocation's shared data dir. */
export const PAYMENT_JOURNAL_PATH = "${NOMAD_ALLOC_DIR}/data/payments.jsonl";

export function applicationJob(settings: PlatformSettings, key: ServiceKey): Job {
  const service = SERVICES[key];
  const own = settings.services[key];
  const lab = settings.driver === "raw_exec";

  const program: ProgramProps = lab
    ? {
        artifact: { kind: "binary", path: `${settings.repoDir}/node_modules/.bin/tsx` },
        args: [`${settings.repoDir}/services/${service.name}/main.ts`],
      }
    : { artifact: { kind: "image", image: serviceImage(settings, key) } };

  // Static: the contract port on the node. Dynamic: any host port, mapped to the contract port
  // inside the container (docker) or handed to the process through PORT (raw_exec).
  const port: PortSpec = own.staticPort
    ? { label: "http", static: service.port }
    : lab
      ? { label: "http" }
      : { label: "http", to: service.port };
  const listenPort = own.staticPort || !lab ? String(service.port) : "${NOMAD_PORT_http}";

  const tuning = settings.services;
  const env: Record<string, string> = {
    HOST: settings.bindAddress,
    PORT: listenPort,
    LOG_LEVEL: tuning.logLevel,
    PREFETCH: String(tuning.prefetch),
    MAX_RETRIES: String(tuning.maxRetries),
    RETRY_DELAY_MS: String(tuning.retryDelayMs),
    PUBLISH_TIMEOUT_MS: String(tuning.publishTimeoutMs),
    ...(key === "payment"
      ? {
          PAYMENT_LATENCY_MS: String(tuning.paymentLatencyMs),
          PAYMENT_DECLINE_RATE: String(tuning.paymentDeclineRate),
          PAYMENT_SEED: String(tuning.paymentSeed),
          // In the allocation's data dir: a restarted task finds the payments it made.
          PAYMENT_JOURNAL: PAYMENT_JOURNAL_PATH,
        }
      : {}),
  };

  return serviceJob({
    name: service.name,
    region: settings.region,
    datacenters: settings.datacenters,
    count: own.count,
    program,
    ports: [port],
    services: [
      {
        name: service.name,
        portLabel: "http",
        tags: [METRICS_TAG],
        check: { type: "http", path: OPERATIONAL_PATHS.health },
        route: { name: service.name, pathPrefix: service.route, entrypoint: WEB_ENTRYPOINT },
      },
    ],
    env,
    templates: [
      brokerUrlEnv({
        source: secretSource(settings, service.name),
        secret: brokerSecretName(service.name),
        vhost: settings.rabbitmq.vhost,
        amqpTag: AMQP_TAG,
      }),
    ],
    vault: vaultAccess(settings, service.name),
    identities: vaultIdentities(settings),
    resources: own.resources,
  });
}


export class ServicesStack extends TerraformStack {
  public readonly jobs: Readonly<Record<ServiceKey, NomadJob>>;

  public constructor(scope: Construct, id: string, settings: PlatformSettings) {
    super(scope, id);

    providers.nomad(this, settings);

    this.jobs = Object.fromEntries(
      SERVICE_KEYS.map((key) => [key, new NomadJob(this, SERVICES[key].name, { job: applicationJob(settings, key) })]),
    ) as Record<ServiceKey, NomadJob>;
  }
}
