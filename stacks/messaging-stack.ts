/**
 * The RabbitMQ job: the broker with its management and Prometheus plugins, and a poststart task
 * that creates the vhost and one account per service from credentials held in the secrets store
 * (Vault, or the job's Nomad Variables with `secretsStore = nomad-variables`).
 */
import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import type { PlatformSettings } from "./config.js";
import type { Job, Task } from "./nomad/model.js";
import { NomadJob } from "./nomad/nomad-job.js";
import { driverOf, programConfig } from "./nomad/program.js";
import { resources, serviceJob } from "./nomad/service-job.js";
import { METRICS_PATH_META } from "./prometheus-config.js";
import * as providers from "./providers.js";
import {
  brokerAccountsEnv,
  enabledPlugins,
  provisionScript,
  rabbitmqConf,
  erlangDistributionEnv,
} from "./templates.js";
import { APP_SERVICES, BROKER_ACCOUNTS, BROKER_ADMIN_ACCOUNT, METRICS_TAG, PLATFORM, brokerSecretName } from "./topology.js";
import { secretSource, vaultAccess, vaultIdentities } from "./vault-access.js";

/** Consul tag of the AMQP registration; services look the broker up as `amqp.rabbitmq`. */
export const AMQP_TAG = "amqp";

/** The broker's per-queue metrics; the default endpoint aggregates them away. */
export const RABBITMQ_METRICS_PATH = "/metrics/per-object";

export function rabbitmqJob(settings: PlatformSettings): Job {
  const r = settings.rabbitmq;

  // Both tasks share the node name and HOME (where the Erlang cookie lives), so rabbitmqctl in
  // the poststart task can talk to the broker.
  const shared = {
    RABBITMQ_NODENAME: r.nodeName,
    HOME: "${NOMAD_ALLOC_DIR}/data",
    ...erlangDistributionEnv(settings.bindAddress),
  };

  const provisioning: Task = {
    Name: "provision-users",
    Driver: driverOf(r.artifact),
    Config: programConfig(
      r.artifact.kind === "binary"
        ? { artifact: { kind: "binary", path: "/bin/sh" }, args: ["${NOMAD_TASK_DIR}/provision-users.sh"] }
        : { artifact: r.artifact, command: "/bin/sh", args: ["/local/provision-users.sh"], hostNetwork: true },
    ),
    Env: shared,
    Templates: [
      brokerAccountsEnv(
        secretSource(settings, PLATFORM.rabbitmq),
        BROKER_ACCOUNTS.map((account) => ({ account, secret: brokerSecretName(account) })),
      ),
      provisionScript({
        ctlPath: r.ctlPath,
        vhost: r.vhost,
        adminAccount: BROKER_ADMIN_ACCOUNT,
        serviceAccounts: APP_SERVICES,
      }),
    ],
    Resources: resources(r.provisionResources),
    Vault: vaultAccess(settings, PLATFORM.rabbitmq),
    Identities: vaultIdentities(settings),
    Lifecycle: { Hook: "poststart", Sidecar: false },
  };

  return serviceJob({
    name: PLATFORM.rabbitmq,
    region: settings.region,
    datacenters: settings.datacenters,
    program: { artifact: r.artifact, hostNetwork: true },
    ports: [
      { label: "amqp", static: r.amqpPort },
      { label: "management", static: r.managementPort },
      { label: "prometheus", static: r.prometheusPort },
      { label: "dist", static: r.distPort },
    ],
    services: [
      { name: PLATFORM.rabbitmq, portLabel: "amqp", tags: [AMQP_TAG], check: { type: "tcp" } },
      {
        name: PLATFORM.rabbitmq,
        portLabel: "prometheus",
        tags: [METRICS_TAG],
        meta: { [METRICS_PATH_META]: RABBITMQ_METRICS_PATH },
        check: { type: "tcp" },
      },
    ],
    env: {
      ...shared,
      RABBITMQ_CONFIG_FILE: "${NOMAD_TASK_DIR}/rabbitmq.conf",
      RABBITMQ_ENABLED_PLUGINS_FILE: "${NOMAD_TASK_DIR}/enabled_plugins",
      RABBITMQ_MNESIA_BASE: "${NOMAD_ALLOC_DIR}/data/mnesia",
      RABBITMQ_LOG_BASE: "${NOMAD_ALLOC_DIR}/logs",
      RABBITMQ_LOGS: "-",
      RABBITMQ_DIST_PORT: String(r.distPort),
    },
    templates: [
      rabbitmqConf({
        bindAddress: settings.bindAddress,
        amqpPort: r.amqpPort,
        managementPort: r.managementPort,
        prometheusPort: r.prometheusPort,
      }),
      enabledPlugins(),
    ],
    resources: r.resources,
    // The broker keeps its data in the allocation; a slower, gentler rollout suits it.
    lifecycle: { minHealthySeconds: 20, healthyDeadlineSeconds: 180 },
    extraTasks: [provisioning],
  });
}


export class MessagingStack extends TerraformStack {
  public readonly job: NomadJob;

  public constructor(scope: Construct, id: string, settings: PlatformSettings) {
    super(scope, id);

    providers.nomad(this, settings);

    this.job = new NomadJob(this, "rabbitmq", { job: rabbitmqJob(settings) });
  }
}
