/**
 * A typed model of Nomad's JSON job format: the shape `nomad job run -json`, the HTTP API
 * (`/v1/jobs`) and the Terraform provider's `nomad_job` with `json = true` all decode into
 * Nomad's `api.Job`.
 *
 * Field names are the API's (PascalCase). Durations are integer nanoseconds, because Go decodes
 * `time.Duration` from a JSON number; a string such as "30s" is rejected. Optional fields are
 * left out rather than sent as `null` or `[]`: an empty list where Nomad keeps `nil` makes a
 * resubmitted job look changed to Nomad, and a deterministic, minimal document keeps
 * `terraform plan` quiet.
 *
 * @see https://developer.hashicorp.com/nomad/api-docs/json-jobs
 */

/** Nanoseconds, the unit of every duration in the JSON job format. */
export type Nanoseconds = number;

const NANOS_PER_SECOND = 1_000_000_000;

/** Converts seconds to the nanoseconds Nomad's JSON format expects. */
export const seconds = (value: number): Nanoseconds => Math.round(value * NANOS_PER_SECOND);

/** Converts minutes to nanoseconds. */
export const minutes = (value: number): Nanoseconds => seconds(value * 60);

export type JobType = "service" | "batch" | "system" | "sysbatch";

/** The document handed to Nomad: the job under a top-level `Job` key. */
export interface JobDocument {
  readonly Job: Job;
}

export interface Job {
  readonly ID: string;
  readonly Name: string;
  readonly Type: JobType;
  readonly Region?: string;
  readonly Namespace?: string;
  readonly Datacenters: readonly string[];
  readonly Priority?: number;
  readonly Meta?: Readonly<Record<string, string>>;
  readonly ParameterizedJob?: ParameterizedJobConfig;
  readonly TaskGroups: readonly TaskGroup[];
}

export interface ParameterizedJobConfig {
  readonly Payload: "optional" | "required" | "forbidden";
  readonly MetaRequired?: readonly string[];
  readonly MetaOptional?: readonly string[];
}

export interface TaskGroup {
  readonly Name: string;
  readonly Count: number;
  readonly Networks?: readonly NetworkResource[];
  readonly Services?: readonly Service[];
  readonly RestartPolicy?: RestartPolicy;
  readonly ReschedulePolicy?: ReschedulePolicy;
  readonly Update?: UpdateStrategy;
  readonly EphemeralDisk?: EphemeralDisk;
  readonly Meta?: Readonly<Record<string, string>>;
  readonly Tasks: readonly Task[];
}

export interface NetworkResource {
  readonly Mode: "host" | "bridge";
  readonly ReservedPorts?: readonly Port[];
  readonly DynamicPorts?: readonly Port[];
}

export interface Port {
  readonly Label: string;
  /** Static host port (reserved ports only). */
  readonly Value?: number;
  /** Port inside the task's network namespace that the host port maps to. */
  readonly To?: number;
}

export interface Service {
  readonly Name: string;
  readonly PortLabel: string;
  readonly Provider: "consul" | "nomad";
  readonly Tags?: readonly string[];
  readonly Meta?: Readonly<Record<string, string>>;
  readonly AddressMode?: "auto" | "host" | "driver";
  readonly Checks?: readonly ServiceCheck[];
}

export interface ServiceCheck {
  readonly Name: string;
  readonly Type: "http" | "tcp" | "script";
  readonly Path?: string;
  readonly Protocol?: "http" | "https";
  readonly Method?: string;
  readonly PortLabel?: string;
  readonly Interval: Nanoseconds;
  readonly Timeout: Nanoseconds;
}

export interface RestartPolicy {
  readonly Attempts: number;
  readonly Interval: Nanoseconds;
  readonly Delay: Nanoseconds;
  readonly Mode: "fail" | "delay";
}

export interface ReschedulePolicy {
  readonly Attempts: number;
  readonly Interval: Nanoseconds;
  readonly Delay: Nanoseconds;
  readonly DelayFunction: "constant" | "exponential" | "fibonacci";
  readonly MaxDelay: Nanoseconds;
  readonly Unlimited: boolean;
}

export interface UpdateStrategy {
  readonly MaxParallel: number;
  readonly HealthCheck: "checks" | "task_states" | "manual";
  readonly MinHealthyTime: Nanoseconds;
  readonly HealthyDeadline: Nanoseconds;
  readonly ProgressDeadline: Nanoseconds;
  readonly AutoRevert: boolean;
  readonly Canary?: number;
  readonly AutoPromote?: boolean;
}

export interface EphemeralDisk {
  readonly SizeMB: number;
}

export interface Task {
  readonly Name: string;
  readonly Driver: string;
  readonly Config: Readonly<Record<string, unknown>>;
  readonly Env?: Readonly<Record<string, string>>;
  readonly Templates?: readonly Template[];
  readonly Resources: Resources;
  readonly Vault?: Vault;
  /** Workload identities besides the default one, e.g. `vault_default` for Vault. */
  readonly Identities?: readonly WorkloadIdentity[];
  readonly Lifecycle?: Lifecycle;
  readonly KillTimeout?: Nanoseconds;
  readonly Leader?: boolean;
  readonly Meta?: Readonly<Record<string, string>>;
  readonly DispatchPayload?: DispatchPayloadConfig;
}

export interface Template {
  /** The consul-template source, rendered on the client. */
  readonly EmbeddedTmpl: string;
  /** Path relative to the task directory, e.g. `secrets/rabbitmq.env`. */
  readonly DestPath: string;
  readonly ChangeMode: "restart" | "signal" | "noop";
  readonly ChangeSignal?: string;
  /** When true, the rendered `KEY=value` lines become the task's environment. */
  readonly Envvars?: boolean;
  readonly Perms?: string;
  readonly LeftDelim?: string;
  readonly RightDelim?: string;
}

export interface Resources {
  /** MHz. */
  readonly CPU: number;
  readonly MemoryMB: number;
  readonly MemoryMaxMB?: number;
}

/**
 * Vault access for a task. Nomad 1.6 and older take `Policies` and derive a token through the
 * server's Vault token; Nomad 1.7+ with workload identity takes `Role` of a JWT auth backend.
 */
export interface Vault {
  readonly Policies?: readonly string[];
  readonly Role?: string;
  readonly ChangeMode: "restart" | "signal" | "noop";
  readonly Env?: boolean;
}

/**
 * A signed identity Nomad gives a task. Nomad 1.7+ logs a task with a `vault` block in to Vault
 * with the identity named `vault_<cluster>` (`vault_default`); unless the servers set
 * `vault.default_identity`, the job itself must declare it, with the audience Vault's JWT roles
 * are bound to.
 *
 * @see https://developer.hashicorp.com/nomad/docs/job-specification/identity
 */
/** Name of the identity a task presents to the default Vault cluster. */
export const VAULT_DEFAULT_IDENTITY = "vault_default";

export interface WorkloadIdentity {
  readonly Name: string;
  readonly Audience: readonly string[];
  readonly TTL: Nanoseconds;
  readonly ChangeMode?: "noop" | "restart" | "signal";
}

export interface Lifecycle {
  readonly Hook: "prestart" | "poststart" | "poststop";
  readonly Sidecar: boolean;
}

export interface DispatchPayloadConfig {
  readonly File: string;
}
