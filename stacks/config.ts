/**
 * One typed settings object per deployment target. Every address, port, count, version, image,
 * driver and resource figure the stacks use comes from here; the stacks and job constructs hold
 * no literals of their own. `docs/stacks.md` lists these settings, and a test keeps that table
 * in step with this file.
 */
import { RABBITMQ, SERVICES, type ServiceKey } from "../contract/index.js";

export const TARGETS = ["lab", "cluster"] as const;
export type Target = (typeof TARGETS)[number];

/** Where a task's program comes from. */
export type TaskDriver = "raw_exec" | "docker";

/**
 * How Nomad hands Vault tokens to tasks.
 * - `token`: Nomad 1.6 and older, `vault { policies = [...] }`, the server holds a Vault token.
 * - `workload-identity`: Nomad 1.7+, `vault { role = ... }`, tasks log in to a JWT auth backend
 *   with their signed identity.
 */
export type VaultIntegrationMode = "token" | "workload-identity";

export type PrometheusDiscovery = "consul-sd" | "consul-template";

/**
 * Where the platform's credentials live and where the jobs' templates read them.
 * - `vault`: a Vault KV v2 mount, one read-only policy per job (`secret "<mount>/data/..."`).
 * - `nomad-variables`: Nomad Variables at `nomad/jobs/<job>`, which only that job's tasks may
 *   read (`nomadVar "nomad/jobs/<job>"`). Built into Nomad 1.4+, no Vault needed.
 */
export type SecretsStore = "vault" | "nomad-variables";

export interface ResourceSettings {
  /** CPU share in MHz. */
  readonly cpu: number;
  readonly memoryMiB: number;
}

/** How a program is started: a binary on the node (raw_exec) or an image (docker). */
export type Artifact =
  | { readonly kind: "binary"; readonly path: string }
  | { readonly kind: "image"; readonly image: string };

export interface ServiceSettings {
  readonly count: number;
  readonly resources: ResourceSettings;
  /**
   * Reserve the contract port on the host (one instance per node) instead of a dynamic port.
   */
  readonly staticPort: boolean;
}

export interface PlatformSettings {
  readonly target: Target;
  readonly region: string;
  readonly datacenters: readonly string[];
  /** Address the Nomad HTTP API answers on; also the issuer of workload identities. */
  readonly nomadAddress: string;
  readonly consulAddress: string;
  readonly vaultAddress: string;
  readonly driver: TaskDriver;
  /** Address programs bind to (`HOST`). */
  readonly bindAddress: string;
  /** Absolute path of this checkout on the node; raw_exec tasks run from it. */
  readonly repoDir: string;
  /** Image registry for the services in the cluster target. */
  readonly registry: string;
  /** Version tag of the services' images. */
  readonly serviceVersion: string;
  /** Where credentials are stored and read from; the Vault settings apply to `vault` only. */
  readonly secretsStore: SecretsStore;

  readonly vault: {
    readonly mode: VaultIntegrationMode;
    /** Path of the KV v2 mount holding the platform's credentials. */
    readonly kvMount: string;
    /** Path of the JWT auth backend for Nomad workload identity. */
    readonly jwtAuthPath: string;
    /** Audience Nomad puts in workload identities meant for Vault. */
    readonly jwtAudience: string;
    /** Lifetime of tokens issued to tasks, in seconds. */
    readonly tokenTtlSeconds: number;
  };

  readonly services: {
    readonly logLevel: string;
    readonly prefetch: number;
    readonly maxRetries: number;
    readonly retryDelayMs: number;
    readonly publishTimeoutMs: number;
    readonly paymentLatencyMs: number;
    readonly paymentDeclineRate: number;
    readonly paymentSeed: number;
  } & Readonly<Record<ServiceKey, ServiceSettings>>;

  readonly rabbitmq: {
    readonly artifact: Artifact;
    /** Path of `rabbitmqctl` inside the node or image. */
    readonly ctlPath: string;
    /** Erlang node name; unique among the nodes registered with the machine's epmd. */
    readonly nodeName: string;
    readonly amqpPort: number;
    readonly managementPort: number;
    readonly prometheusPort: number;
    /** Erlang distribution port, so the node uses a fixed port rather than a random one. */
    readonly distPort: number;
    readonly vhost: string;
    readonly resources: ResourceSettings;
    /** Resources of the poststart task that creates the accounts. */
    readonly provisionResources: ResourceSettings;
  };

  readonly traefik: {
    readonly artifact: Artifact;
    /** URL clients use to reach the `web` entrypoint; Prometheus and Grafana build links from it. */
    readonly publicUrl: string;
    /** Port of the `web` entrypoint that serves every public route. */
    readonly entrypointPort: number;
    /** Port of Traefik's own API and ping endpoint, kept off the public entrypoint. */
    readonly adminPort: number;
    readonly resources: ResourceSettings;
  };

  readonly prometheus: {
    readonly artifact: Artifact;
    /**
     * How Prometheus learns the scrape targets from Consul.
     * - `consul-sd`: its own `consul_sd_configs`.
     * - `consul-template`: a file_sd file that a Nomad template renders from Consul's catalog,
     *   for Prometheus builds without Consul discovery (Debian's package leaves it out).
     */
    readonly discovery: PrometheusDiscovery;
    readonly port: number;
    readonly scrapeIntervalSeconds: number;
    readonly retentionHours: number;
    readonly resources: ResourceSettings;
  };

  readonly grafana: {
    readonly artifact: Artifact;
    /** When false the Grafana job is declared (and exported) but not registered with Nomad. */
    readonly deploy: boolean;
    readonly port: number;
    readonly resources: ResourceSettings;
  };

  readonly locust: {
    readonly artifact: Artifact;
    /** Absolute path of `locust/locustfile.py` on the node or in the image. */
    readonly locustfile: string;
    readonly users: number;
    readonly spawnRate: number;
    readonly runTime: string;
    readonly resources: ResourceSettings;
  };
}

/** Settings read from the environment, so a checkout elsewhere or a remote cluster can be used. */
export interface SettingsEnvironment {
  readonly NOMAD_ADDR?: string;
  readonly CONSUL_HTTP_ADDR?: string;
  readonly VAULT_ADDR?: string;
  readonly ORDERLAB_REPO_DIR?: string;
  readonly ORDERLAB_TRAEFIK_BIN?: string;
  readonly ORDERLAB_ENTRYPOINT_PORT?: string;
  readonly ORDERLAB_PUBLIC_URL?: string;
  readonly ORDERLAB_REGISTRY?: string;
  readonly ORDERLAB_VERSION?: string;
}

const serviceDefaults = (staticPort: boolean, count: number): ServiceSettings => ({
  count,
  staticPort,
  resources: { cpu: 200, memoryMiB: 256 },
});

const serviceTuning = {
  logLevel: "info",
  prefetch: 20,
  maxRetries: 3,
  retryDelayMs: 2000,
  publishTimeoutMs: 5000,
  paymentLatencyMs: 50,
  paymentDeclineRate: 0.1,
  paymentSeed: 42,
};

/**
 * The lab's ports that differ from the cluster's: a development broker (`npm run broker`, 5672)
 * and a Prometheus of one's own (9090) can run beside the lab.
 */
export const LAB_PORTS = {
  amqp: 5682,
  management: 15682,
  rabbitmqPrometheus: 15702,
  rabbitmqDist: 25682,
  prometheus: 9190,
} as const;

/** One dev agent on the loopback, programs from this checkout and from Debian packages. */
export function labSettings(env: SettingsEnvironment = {}): PlatformSettings {
  const repoDir = env.ORDERLAB_REPO_DIR ?? process.cwd();
  const entrypointPort = Number(env.ORDERLAB_ENTRYPOINT_PORT ?? 18080);
  return {
    target: "lab",
    region: "global",
    datacenters: ["dc1"],
    nomadAddress: env.NOMAD_ADDR ?? "http://127.0.0.1:4646",
    consulAddress: env.CONSUL_HTTP_ADDR ?? "127.0.0.1:8500",
    vaultAddress: env.VAULT_ADDR ?? "http://127.0.0.1:8200",
    driver: "raw_exec",
    bindAddress: "127.0.0.1",
    repoDir,
    registry: "",
    serviceVersion: "dev",
    secretsStore: "vault",
    vault: {
      mode: "workload-identity",
      kvMount: "orderlab",
      jwtAuthPath: "jwt-nomad",
      jwtAudience: "vault.io",
      tokenTtlSeconds: 3600,
    },
    services: {
      ...serviceTuning,
      order: serviceDefaults(true, 1),
      payment: serviceDefaults(true, 1),
      notification: serviceDefaults(true, 1),
    },
    rabbitmq: {
      // The scripts behind /usr/sbin switch to the rabbitmq user; these run as the task user.
      artifact: { kind: "binary", path: "/usr/lib/rabbitmq/bin/rabbitmq-server" },
      ctlPath: "/usr/lib/rabbitmq/bin/rabbitmqctl",
      nodeName: "orderlab-lab@localhost",
      // Off RabbitMQ's defaults, so the lab runs beside a development broker on 5672/15672.
      amqpPort: LAB_PORTS.amqp,
      managementPort: LAB_PORTS.management,
      prometheusPort: LAB_PORTS.rabbitmqPrometheus,
      distPort: LAB_PORTS.rabbitmqDist,
      vhost: "orderlab",
      resources: { cpu: 500, memoryMiB: 512 },
      provisionResources: { cpu: 100, memoryMiB: 128 },
    },
    traefik: {
      // `npx tsx scripts/lab/tools.ts path traefik` prints the pinned build to set here.
      artifact: { kind: "binary", path: env.ORDERLAB_TRAEFIK_BIN ?? "/usr/local/bin/traefik" },
      publicUrl: env.ORDERLAB_PUBLIC_URL ?? `http://127.0.0.1:${entrypointPort}`,
      entrypointPort,
      adminPort: 18081,
      resources: { cpu: 200, memoryMiB: 128 },
    },
    prometheus: {
      artifact: { kind: "binary", path: "/usr/bin/prometheus" },
      discovery: "consul-template",
      port: LAB_PORTS.prometheus,
      scrapeIntervalSeconds: 5,
      retentionHours: 24,
      resources: { cpu: 300, memoryMiB: 512 },
    },
    grafana: {
      artifact: { kind: "binary", path: "/usr/sbin/grafana-server" },
      // No Grafana package exists on the lab machine: the job is declared and exported, not run.
      deploy: false,
      port: 3300,
      resources: { cpu: 200, memoryMiB: 256 },
    },
    locust: {
      artifact: { kind: "binary", path: `${repoDir}/.venv/bin/locust` },
      locustfile: `${repoDir}/locust/locustfile.py`,
      users: 20,
      spawnRate: 5,
      runTime: "2m",
      resources: { cpu: 500, memoryMiB: 256 },
    },
  };
}

/** A Nomad cluster with the docker driver; images by registry and version. */
export function clusterSettings(env: SettingsEnvironment = {}): PlatformSettings {
  const registry = env.ORDERLAB_REGISTRY ?? "registry.example.internal";
  return {
    target: "cluster",
    region: "global",
    datacenters: ["dc1"],
    nomadAddress: env.NOMAD_ADDR ?? "http://127.0.0.1:4646",
    consulAddress: env.CONSUL_HTTP_ADDR ?? "127.0.0.1:8500",
    vaultAddress: env.VAULT_ADDR ?? "http://127.0.0.1:8200",
    driver: "docker",
    bindAddress: "0.0.0.0",
    repoDir: "/app",
    registry,
    serviceVersion: env.ORDERLAB_VERSION ?? "0.1.0",
    secretsStore: "vault",
    vault: {
      mode: "workload-identity",
      kvMount: "orderlab",
      jwtAuthPath: "jwt-nomad",
      jwtAudience: "vault.io",
      tokenTtlSeconds: 3600,
    },
    services: {
      ...serviceTuning,
      order: serviceDefaults(false, 2),
      payment: serviceDefaults(false, 2),
      notification: serviceDefaults(false, 2),
    },
    rabbitmq: {
      artifact: { kind: "image", image: "rabbitmq:3.13-management" },
      ctlPath: "rabbitmqctl",
      nodeName: "rabbit@localhost",
      amqpPort: RABBITMQ.amqpPort,
      managementPort: RABBITMQ.managementPort,
      prometheusPort: RABBITMQ.prometheusPort,
      distPort: 25672,
      vhost: "orderlab",
      resources: { cpu: 1000, memoryMiB: 1024 },
      provisionResources: { cpu: 100, memoryMiB: 128 },
    },
    traefik: {
      artifact: { kind: "image", image: "traefik:v3.1" },
      publicUrl: env.ORDERLAB_PUBLIC_URL ?? "http://orderlab.example.internal",
      entrypointPort: 80,
      adminPort: 8081,
      resources: { cpu: 300, memoryMiB: 256 },
    },
    prometheus: {
      artifact: { kind: "image", image: "prom/prometheus:v2.53.0" },
      discovery: "consul-sd",
      port: 9090,
      scrapeIntervalSeconds: 15,
      retentionHours: 168,
      resources: { cpu: 500, memoryMiB: 1024 },
    },
    grafana: {
      artifact: { kind: "image", image: "grafana/grafana:11.1.0" },
      deploy: true,
      port: 3300,
      resources: { cpu: 300, memoryMiB: 512 },
    },
    locust: {
      artifact: { kind: "image", image: `${registry}/nomad-order-lab/locust:${env.ORDERLAB_VERSION ?? "0.1.0"}` },
      locustfile: "/app/locust/locustfile.py",
      users: 100,
      spawnRate: 10,
      runTime: "5m",
      resources: { cpu: 1000, memoryMiB: 512 },
    },
  };
}

/** The image of one of the three services in the cluster target. */
export const serviceImage = (settings: PlatformSettings, service: ServiceKey): string =>
  `${settings.registry}/nomad-order-lab/${SERVICES[service].name}:${settings.serviceVersion}`;

/** Reads the target name; anything but `lab` or `cluster` is refused with the value named. */
export function parseTarget(value: string | undefined): Target {
  const target = value ?? "lab";
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new Error(`target must be one of ${TARGETS.join(", ")}, but "${target}" was provided`);
  }
  return target as Target;
}

export function settingsFor(target: Target, env: SettingsEnvironment = {}): PlatformSettings {
  return target === "lab" ? labSettings(env) : clusterSettings(env);
}
