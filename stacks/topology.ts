/**
 * Who may talk to whom, what is public, and who reads which secret: the platform's graph as
 * data. The Consul intentions, the Traefik tags, Prometheus' scrape targets and the Vault
 * policies are all derived from here, so they cannot disagree.
 */
import { SERVICES } from "../contract/index.js";

/** Names of the platform's own jobs and Consul services. */
export const PLATFORM = {
  rabbitmq: "rabbitmq",
  traefik: "traefik",
  prometheus: "prometheus",
  grafana: "grafana",
  locust: "locust",
} as const;

export const APP_SERVICES = Object.values(SERVICES).map((s) => s.name);

/** Public routes served by Traefik's `web` entrypoint. Nothing else is exposed. */
export const PUBLIC_ROUTES: readonly { readonly service: string; readonly pathPrefix: string }[] = [
  ...Object.values(SERVICES).map((s) => ({ service: s.name, pathPrefix: s.route })),
  { service: PLATFORM.prometheus, pathPrefix: "/prometheus" },
  { service: PLATFORM.grafana, pathPrefix: "/grafana" },
];

/** Services Prometheus scrapes (registered in Consul with the `metrics` tag). */
export const SCRAPE_TARGETS: readonly string[] = [...APP_SERVICES, PLATFORM.rabbitmq];

/** Consul tag that marks a registration for Prometheus to scrape. */
export const METRICS_TAG = "metrics";

export interface Connection {
  readonly source: string;
  readonly destination: string;
}

/** Every allowed service-to-service connection; anything else is denied. */
export const ALLOWED_CONNECTIONS: readonly Connection[] = [
  ...PUBLIC_ROUTES.map((r) => ({ source: PLATFORM.traefik, destination: r.service })),
  ...APP_SERVICES.map((s) => ({ source: s, destination: PLATFORM.rabbitmq })),
  ...SCRAPE_TARGETS.map((t) => ({ source: PLATFORM.prometheus, destination: t })),
  { source: PLATFORM.grafana, destination: PLATFORM.prometheus },
];

/** Services speaking HTTP, for Consul's service-defaults. RabbitMQ speaks AMQP (tcp). */
export const HTTP_SERVICES: readonly string[] = [...APP_SERVICES, PLATFORM.prometheus, PLATFORM.grafana];

/** RabbitMQ account names: one per application service, plus the broker's administrator. */
export const BROKER_ADMIN_ACCOUNT = "orderlab-admin";
export const BROKER_ACCOUNTS: readonly string[] = [BROKER_ADMIN_ACCOUNT, ...APP_SERVICES];

/** KV v2 secret names (under the mount). */
export const brokerSecretName = (account: string): string => `rabbitmq/${account}`;
export const GRAFANA_ADMIN_SECRET = "grafana/admin";

/** Which job reads which secrets; each job's Vault policy grants read on exactly these. */
export const SECRET_READERS: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(APP_SERVICES.map((s) => [s, [brokerSecretName(s)]])),
  [PLATFORM.rabbitmq]: BROKER_ACCOUNTS.map(brokerSecretName),
  [PLATFORM.grafana]: [GRAFANA_ADMIN_SECRET],
};

/**
 * Nomad Variables path of a job: Nomad's implicit workload policy lets a job's tasks read
 * `nomad/jobs/<job>` (and below) and nothing else.
 */
export const nomadJobVariablePath = (job: string): string => `nomad/jobs/${job}`;

/** A secret's field as an item key of a job's variable (`rabbitmq/order-service`, `password` -> `rabbitmq_order_service_password`). */
export const variableItemKey = (secret: string, field: "username" | "password"): string =>
  `${secret.replace(/[^a-z0-9]+/g, "_")}_${field}`;

/** API path of a KV v2 secret's data. */
export const kvDataPath = (mount: string, secret: string): string => `${mount}/data/${secret}`;

/** Vault policy and JWT role of a job. */
export const vaultPolicyName = (job: string): string => `${job}-read`;
export const vaultRoleName = (job: string): string => `nomad-${job}`;
