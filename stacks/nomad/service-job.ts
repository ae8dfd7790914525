/**
 * A long-running job: one group, one main task, Consul registrations with health checks, and
 * health-gated rolling updates. The application services, Traefik, Prometheus and Grafana are
 * all of this kind; the broker adds a provisioning task through `extraTasks`.
 */
import type { Job, Resources, Task, Template, Vault, WorkloadIdentity } from "./model.js";
import { seconds, VAULT_DEFAULT_IDENTITY } from "./model.js";
import {
  DEFAULT_LIFECYCLE,
  consulService,
  network,
  reschedulePolicy,
  restartPolicy,
  updateStrategy,
  type LifecyclePolicyProps,
  type PortSpec,
  type ServiceSpec,
} from "./group.js";
import { driverOf, programConfig, type ProgramProps } from "./program.js";
import { traefikTagProblems } from "./traefik-tags.js";
import { dnsName, integerInRange, requires, validate, type Rule } from "./validation.js";

export interface ResourceProps {
  /** CPU share in MHz, between 20 and 20000. */
  readonly cpu: number;
  /** Memory limit in MiB, between 16 and 65536. */
  readonly memoryMiB: number;
}

export interface ServiceJobProps {
  /** Job, group and main task name; lower-case, digits and dashes. */
  readonly name: string;
  readonly region: string;
  readonly datacenters: readonly string[];
  /**
   * Instances of the group.
   *
   * @default 1
   */
  readonly count?: number;
  /** What the main task runs. */
  readonly program: ProgramProps;
  /** Ports of the group network. */
  readonly ports: readonly PortSpec[];
  /** Consul registrations; at least one. */
  readonly services: readonly ServiceSpec[];
  /**
   * Plain environment. Never put credentials here; render them with a Vault `template`.
   *
   * @default - none
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Files rendered by the client before the task starts (configuration, Vault-backed env files).
   *
   * @default - none
   */
  readonly templates?: readonly Template[];
  /**
   * Vault access for the main task.
   *
   * @default - the task gets no Vault token
   */
  readonly vault?: Vault;
  /**
   * Workload identities of the main task. A `vault` block with a `Role` needs `vault_default`.
   *
   * @default - only Nomad's default identity
   */
  readonly identities?: readonly WorkloadIdentity[];
  readonly resources: ResourceProps;
  /**
   * Health-check, restart, reschedule and update timing.
   *
   * @default DEFAULT_LIFECYCLE
   */
  readonly lifecycle?: LifecyclePolicyProps;
  /**
   * Tasks besides the main one, such as a poststart provisioning step.
   *
   * @default - none
   */
  readonly extraTasks?: readonly Task[];
  /**
   * Job metadata.
   *
   * @default - none
   */
  readonly meta?: Readonly<Record<string, string>>;
}

/** Builds the job value; throws `JobValidationError` when a prop breaks a rule. */
export function serviceJob(props: ServiceJobProps): Job {
  validate(props.name, props, SERVICE_JOB_RULES);
  const allTemplates = [...(props.templates ?? []), ...(props.extraTasks ?? []).flatMap((t) => t.Templates ?? [])];
  for (const template of allTemplates) {
    validate(props.name, template, TEMPLATE_RULES);
  }

  const lifecycle = { ...DEFAULT_LIFECYCLE, ...props.lifecycle };
  const portLabels = props.ports.map((p) => p.label);

  const main: Task = {
    Name: props.name,
    Driver: driverOf(props.program.artifact),
    Config: programConfig({ ...props.program, portLabels: props.program.portLabels ?? portLabels }),
    ...(props.env ? { Env: { ...props.env } } : {}),
    ...(props.templates && props.templates.length > 0 ? { Templates: [...props.templates] } : {}),
    Resources: resources(props.resources),
    ...(props.vault ? { Vault: props.vault } : {}),
    ...(props.identities && props.identities.length > 0 ? { Identities: [...props.identities] } : {}),
    KillTimeout: seconds(10),
    Leader: true,
  };

  return {
    ID: props.name,
    Name: props.name,
    Type: "service",
    Region: props.region,
    Datacenters: [...props.datacenters],
    ...(props.meta ? { Meta: { ...props.meta } } : {}),
    TaskGroups: [
      {
        Name: props.name,
        Count: props.count ?? 1,
        Networks: [network(props.ports)],
        Services: props.services.map((s) => consulService(s, lifecycle)),
        RestartPolicy: restartPolicy(lifecycle),
        ReschedulePolicy: reschedulePolicy(lifecycle),
        Update: updateStrategy(lifecycle),
        Tasks: [main, ...(props.extraTasks ?? [])],
      },
    ],
  };
}

export const resources = (r: ResourceProps): Resources => ({ CPU: r.cpu, MemoryMB: r.memoryMiB });

/** A URL with a user and password in it: `scheme://user:pass@host`. */
const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^@\s]+@/i;
const SECRET_KEY = /(PASSWORD|SECRET|TOKEN|RABBITMQ_URL)$/;

const SERVICE_JOB_RULES: readonly Rule<ServiceJobProps>[] = [
  dnsName("name", (p) => p.name),
  integerInRange("count", (p) => p.count, 1, 100),
  integerInRange("resources.cpu", (p) => p.resources.cpu, 20, 20_000, "MHz"),
  integerInRange("resources.memoryMiB", (p) => p.resources.memoryMiB, 16, 65_536, "MiB"),
  requires(
    "EmptyDatacenters",
    (p) => p.datacenters.length > 0,
    () => "`datacenters` must list at least one datacenter, but an empty list was provided",
  ),
  requires(
    "StaticPortWithManyInstances",
    (p) => (p.count ?? 1) === 1 || p.ports.every((port) => port.static === undefined),
    (p) =>
      `\`count\` must be 1 when a port is reserved statically (${p.ports
        .filter((port) => port.static !== undefined)
        .map((port) => `${port.label}=${port.static}`)
        .join(", ")}), but ${p.count} was provided; use dynamic ports to run several instances`,
  ),
  requires(
    "NoService",
    (p) => p.services.length > 0,
    () => "`services` must register at least one Consul service, but none was provided",
  ),
  requires(
    "UnknownPortLabel",
    (p) => unknownPortLabels(p).length === 0,
    (p) => `\`services\` refer to port labels not declared in \`ports\`: ${unknownPortLabels(p).join(", ")}`,
  ),
  requires(
    "InvalidServiceName",
    (p) => p.services.every((s) => /^[a-z][a-z0-9-]*$/.test(s.name) && (!s.route || /^[a-z][a-z0-9-]*$/.test(s.route.name))),
    (p) =>
      `service and route names must use lower-case letters, digits and dashes (no dots), but got ${p.services
        .flatMap((s) => [s.name, s.route?.name ?? s.name])
        .map((n) => `"${n}"`)
        .join(", ")}`,
  ),
  requires(
    "InvalidRoute",
    (p) => p.services.every((s) => !s.route || s.route.pathPrefix.startsWith("/")),
    (p) => `route \`pathPrefix\` must start with "/", but got ${p.services.map((s) => s.route?.pathPrefix).join(", ")}`,
  ),
  requires(
    "InvalidTraefikTags",
    (p) => p.services.every((s) => traefikTagProblems(consulService(s, DEFAULT_LIFECYCLE).Tags ?? []).length === 0),
    (p) =>
      `Traefik tags are malformed: ${p.services
        .flatMap((s) => traefikTagProblems(consulService(s, DEFAULT_LIFECYCLE).Tags ?? []))
        .join("; ")}`,
  ),
  requires(
    "SecretInEnv",
    (p) => secretEnvKeys(p).length === 0,
    (p) =>
      `\`env\` must not carry credentials (${secretEnvKeys(p).join(", ")}); ` +
      "render them from Vault with a template into secrets/ instead",
  ),
  requires(
    "HealthyDeadlineTooShort",
    (p) => {
      const l = { ...DEFAULT_LIFECYCLE, ...p.lifecycle };
      return l.healthyDeadlineSeconds > l.minHealthySeconds && l.progressDeadlineSeconds > l.healthyDeadlineSeconds;
    },
    (p) => {
      const l = { ...DEFAULT_LIFECYCLE, ...p.lifecycle };
      return (
        "`lifecycle` must satisfy minHealthySeconds < healthyDeadlineSeconds < progressDeadlineSeconds, but got " +
        `${l.minHealthySeconds} < ${l.healthyDeadlineSeconds} < ${l.progressDeadlineSeconds}`
      );
    },
  ),
  requires(
    "AmbiguousVault",
    (p) => !p.vault || (p.vault.Policies !== undefined) !== (p.vault.Role !== undefined),
    () => "`vault` must set exactly one of Policies (token mode) or Role (workload identity)",
  ),
  requires(
    "VaultRoleWithoutIdentity",
    (p) => tasksMissingVaultIdentity(p).length === 0,
    (p) =>
      `tasks with a vault \`Role\` must declare the "${VAULT_DEFAULT_IDENTITY}" identity Nomad logs in to Vault with, ` +
      `but ${tasksMissingVaultIdentity(p).map((t) => `"${t}"`).join(", ")} lack it`,
  ),
];

function tasksMissingVaultIdentity(p: ServiceJobProps): string[] {
  const tasks = [
    { name: p.name, vault: p.vault, identities: p.identities },
    ...(p.extraTasks ?? []).map((t) => ({ name: t.Name, vault: t.Vault, identities: t.Identities })),
  ];
  return tasks
    .filter((t) => t.vault?.Role !== undefined && !(t.identities ?? []).some((i) => i.Name === VAULT_DEFAULT_IDENTITY))
    .map((t) => t.name);
}

const TEMPLATE_RULES: readonly Rule<Template>[] = [
  requires(
    "TemplateOutsideTaskDir",
    (t) => /^(local|secrets)\/[^/].*/.test(t.DestPath) && !t.DestPath.includes(".."),
    (t) => `template \`DestPath\` must be under local/ or secrets/, but "${t.DestPath}" was provided`,
  ),
  requires(
    "VaultSecretOutsideSecretsDir",
    (t) => !/(secret|nomadVar) "/.test(t.EmbeddedTmpl) || t.DestPath.startsWith("secrets/"),
    (t) =>
      `a template reading secrets (Vault or Nomad Variables) must render under secrets/, but "${t.DestPath}" was provided`,
  ),
];

function unknownPortLabels(p: ServiceJobProps): string[] {
  const labels = new Set(p.ports.map((port) => port.label));
  return p.services
    .flatMap((s) => [s.portLabel, s.check.portLabel])
    .filter((l): l is string => l !== undefined && !labels.has(l));
}

function secretEnvKeys(p: ServiceJobProps): string[] {
  return Object.entries(p.env ?? {})
    .filter(([key, value]) => SECRET_KEY.test(key) || CREDENTIAL_URL.test(value))
    .map(([key]) => key);
}
