/**
 * Contents of the Nomad `template` blocks. They are consul-template sources by nature, so each
 * is rendered by one small function from typed inputs; secrets appear only as lookups in the
 * secrets store (Vault or Nomad Variables), service addresses only as Consul lookups.
 */
import type { Template } from "./nomad/model.js";
import { PLATFORM, kvDataPath, nomadJobVariablePath, variableItemKey } from "./topology.js";

/** Where a job's templates read its credentials. */
export type SecretSource =
  | { readonly store: "vault"; readonly kvMount: string }
  | { readonly store: "nomad-variables"; readonly job: string };

/**
 * Wraps `body` in the block that reads `secret` and gives `body` the expressions of its fields:
 * `{{ with secret "<mount>/data/<secret>" }}` and `.Data.data.<field>` for Vault,
 * `{{ with nomadVar "nomad/jobs/<job>" }}` and `.<secret>_<field>` for Nomad Variables.
 */
export function withSecret(
  source: SecretSource,
  secret: string,
  body: (field: (name: "username" | "password") => string) => string,
  trimWhitespace = false,
): string {
  const trim = trimWhitespace ? "-" : "";
  const [lookup, field] =
    source.store === "vault"
      ? [`secret "${kvDataPath(source.kvMount, secret)}"`, (f: string) => `.Data.data.${f}`]
      : [`nomadVar "${nomadJobVariablePath(source.job)}"`, (f: "username" | "password") => `.${variableItemKey(secret, f)}`];
  return `{{${trim} with ${lookup} }}${body(field)}{{${trim} end }}`;
}

/**
 * Delimiters for files shipped verbatim (dashboards, rule files): they hold `{{ ... }}` of their
 * own (Grafana legends, Prometheus annotations), which consul-template must leave alone.
 */
export const VERBATIM_LEFT_DELIM = "[[=orderlab";
export const VERBATIM_RIGHT_DELIM = "orderlab=]]";

/** Ships a file as is. */
export function verbatimFile(content: string, destPath: string, changeMode: Template["ChangeMode"] = "restart"): Template {
  if (content.includes(VERBATIM_LEFT_DELIM) || content.includes(VERBATIM_RIGHT_DELIM)) {
    throw new Error(`file for "${destPath}" contains the reserved template delimiters`);
  }
  return {
    EmbeddedTmpl: content,
    DestPath: destPath,
    ChangeMode: changeMode,
    ...(changeMode === "signal" ? { ChangeSignal: "SIGHUP" } : {}),
    LeftDelim: VERBATIM_LEFT_DELIM,
    RightDelim: VERBATIM_RIGHT_DELIM,
  };
}

/** Environment file rendered under secrets/ and loaded into the task's environment. */
function envFile(body: string, destPath: string): Template {
  return { EmbeddedTmpl: body, DestPath: destPath, ChangeMode: "restart", Envvars: true, Perms: "0600" };
}

/** First healthy instance of a Consul service (optionally by tag), as `{{ .Address }}`/`{{ .Port }}`. */
const firstInstance = (query: string, body: string): string =>
  `{{- range $i, $s := service "${query}" }}{{- if eq $i 0 }}{{ with $s }}${body}{{ end }}{{- end }}{{- end }}`;

export interface BrokerUrlProps {
  readonly source: SecretSource;
  /** The account's secret name under the mount. */
  readonly secret: string;
  readonly vhost: string;
  /** Consul tag of the broker's AMQP registration. */
  readonly amqpTag: string;
}

/**
 * `RABBITMQ_URL` for a service: credentials from the secrets store, broker address from Consul.
 */
export function brokerUrlEnv(props: BrokerUrlProps): Template {
  const vhost = encodeURIComponent(props.vhost);
  const url = `RABBITMQ_URL=amqp://{{ $user | urlquery }}:{{ $password | urlquery }}@{{ .Address }}:{{ .Port }}/${vhost}\n`;
  const body = withSecret(
    props.source,
    props.secret,
    (field) =>
      `\n{{- $user := ${field("username")} }}{{ $password := ${field("password")} }}\n` +
      firstInstance(`${props.amqpTag}.${PLATFORM.rabbitmq}`, url) +
      "\n",
    true,
  );
  return envFile(`${body}\n`, "secrets/rabbitmq.env");
}

/** Shell-safe environment variable suffix for an account (`order-service` -> `ORDER_SERVICE`). */
export const accountVar = (account: string): string => account.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/** `USER_<ACCOUNT>` and `PASSWORD_<ACCOUNT>` for every broker account, from the secrets store. */
export function brokerAccountsEnv(source: SecretSource, accounts: readonly { account: string; secret: string }[]): Template {
  const body = accounts
    .map(({ account, secret }) =>
      withSecret(
        source,
        secret,
        (field) =>
          `\nUSER_${accountVar(account)}={{ ${field("username")} }}\n` +
          `PASSWORD_${accountVar(account)}={{ ${field("password")} }}\n`,
      ),
    )
    .join("\n");
  return envFile(`${body}\n`, "secrets/accounts.env");
}

export interface ProvisionScriptProps {
  readonly ctlPath: string;
  readonly vhost: string;
  readonly adminAccount: string;
  readonly serviceAccounts: readonly string[];
}

/**
 * Creates the vhost and the accounts with rabbitmqctl, idempotently. Passwords reach rabbitmqctl
 * on standard input, never on its command line.
 */
export function provisionScript(props: ProvisionScriptProps): Template {
  const lines = [
    "#!/bin/sh",
    "set -eu",
    `ctl() { "${props.ctlPath}" --node "$RABBITMQ_NODENAME" "$@"; }`,
    "ctl await_startup --timeout 120",
    `vhost='${props.vhost}'`,
    'ctl list_vhosts --silent | grep -qx "$vhost" || ctl add_vhost "$vhost"',
    "ensure_user() {",
    '  if ctl list_users --silent | cut -f1 | grep -qx "$1"; then',
    '    printf "%s" "$2" | ctl change_password "$1"',
    "  else",
    '    printf "%s" "$2" | ctl add_user "$1"',
    "  fi",
    '  ctl set_permissions --vhost "$vhost" "$1" ".*" ".*" ".*"',
    "}",
    `ensure_user "$USER_${accountVar(props.adminAccount)}" "$PASSWORD_${accountVar(props.adminAccount)}"`,
    `ctl set_user_tags "$USER_${accountVar(props.adminAccount)}" administrator`,
    ...props.serviceAccounts.map((a) => `ensure_user "$USER_${accountVar(a)}" "$PASSWORD_${accountVar(a)}"`),
    "if ctl list_users --silent | cut -f1 | grep -qx guest; then ctl delete_user guest; fi",
    "",
  ];
  // The script itself holds no secret; it is rendered with inert delimiters.
  return { ...verbatimFile(lines.join("\n"), "local/provision-users.sh", "noop"), Perms: "0755" };
}

export interface RabbitmqConfProps {
  readonly bindAddress: string;
  readonly amqpPort: number;
  readonly managementPort: number;
  readonly prometheusPort: number;
}

export function rabbitmqConf(props: RabbitmqConfProps): Template {
  const content = [
    `listeners.tcp.default = ${props.bindAddress}:${props.amqpPort}`,
    `management.tcp.ip = ${props.bindAddress}`,
    `management.tcp.port = ${props.managementPort}`,
    `prometheus.tcp.ip = ${props.bindAddress}`,
    `prometheus.tcp.port = ${props.prometheusPort}`,
    "log.console = true",
    "log.file = false",
    "",
  ].join("\n");
  return verbatimFile(content, "local/rabbitmq.conf");
}

/** Plugins the broker runs: management (UI/API) and the Prometheus exporter on 15692. */
/**
 * Environment that keeps a RabbitMQ node's Erlang distribution on one IPv4 address: the
 * inter-node port (RABBITMQ_DIST_PORT), the short-lived ports of `rabbitmqctl`, and an epmd the
 * node starts. Without it they listen on every interface even when AMQP binds the loopback.
 * Empty for 0.0.0.0, which means every interface anyway.
 */
export function erlangDistributionEnv(bindAddress: string): Record<string, string> {
  if (bindAddress === "0.0.0.0" || !/^\d+\.\d+\.\d+\.\d+$/.test(bindAddress)) return {};
  const args = `-kernel inet_dist_use_interface {${bindAddress.split(".").join(",")}}`;
  return { ERL_EPMD_ADDRESS: bindAddress, RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: args, RABBITMQ_CTL_ERL_ARGS: args };
}

export const ENABLED_PLUGINS = ["rabbitmq_management", "rabbitmq_prometheus"] as const;

export const enabledPlugins = (): Template =>
  verbatimFile(`[${ENABLED_PLUGINS.join(",")}].\n`, "local/enabled_plugins");

/** Grafana's admin account from the secrets store and Prometheus' address from Consul. */
export function grafanaEnv(source: SecretSource, secret: string, prometheusRoutePrefix: string): Template {
  const body =
    withSecret(
      source,
      secret,
      (field) =>
        `\nGF_SECURITY_ADMIN_USER={{ ${field("username")} }}\n` +
        `GF_SECURITY_ADMIN_PASSWORD={{ ${field("password")} }}\n`,
    ) +
    "\n" +
    firstInstance(PLATFORM.prometheus, `PROMETHEUS_URL=http://{{ .Address }}:{{ .Port }}${prometheusRoutePrefix}\n`);
  return envFile(body, "secrets/grafana.env");
}

/** `LOCUST_HOST`: Traefik's public entrypoint, found through Consul. */
export function locustHostEnv(): Template {
  const body = firstInstance(PLATFORM.traefik, "LOCUST_HOST=http://{{ .Address }}:{{ .Port }}\n");
  return { EmbeddedTmpl: body, DestPath: "local/locust.env", ChangeMode: "noop", Envvars: true };
}

/**
 * A Prometheus file_sd file listing every healthy instance of the scrape targets, with the
 * `__meta_consul_*` labels Prometheus' own Consul discovery would attach.
 */
export function consulTargetsFile(services: readonly string[], metricsTag: string, metaKey: string, destPath: string): Template {
  const blocks = services.map(
    (name) =>
      `{{- range service "${metricsTag}.${name}" }}\n` +
      '- targets: ["{{ .Address }}:{{ .Port }}"]\n' +
      "  labels:\n" +
      '    __meta_consul_service: "{{ .Name }}"\n' +
      `    __meta_consul_service_metadata_${metaKey}: "{{ index .ServiceMeta "${metaKey}" }}"\n` +
      "{{- end }}",
  );
  return { EmbeddedTmpl: `${blocks.join("\n")}\n`, DestPath: destPath, ChangeMode: "noop" };
}
