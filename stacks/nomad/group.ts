/**
 * Pieces every long-running group shares: ports, Consul registrations and the restart,
 * reschedule and update policies, each with documented defaults.
 */
import type {
  NetworkResource,
  ReschedulePolicy,
  RestartPolicy,
  Service,
  ServiceCheck,
  UpdateStrategy,
} from "./model.js";
import { seconds } from "./model.js";
import { traefikTags, type TraefikRoute } from "./traefik-tags.js";

export interface PortSpec {
  /** Label other blocks refer to (`http`, `amqp`, ...). */
  readonly label: string;
  /**
   * Host port to reserve. Reserved ports allow one instance per node.
   *
   * @default - a dynamic host port
   */
  readonly static?: number;
  /**
   * Port inside the container that a dynamic host port maps to (docker only).
   *
   * @default - the same number as the host port
   */
  readonly to?: number;
}

export type CheckSpec =
  | { readonly type: "http"; readonly path: string; readonly portLabel?: string }
  | { readonly type: "tcp"; readonly portLabel?: string };

export interface ServiceSpec {
  /** Consul service name. */
  readonly name: string;
  readonly portLabel: string;
  readonly check: CheckSpec;
  /**
   * Tags besides the Traefik ones derived from `route`.
   *
   * @default - none
   */
  readonly tags?: readonly string[];
  /**
   * Consul service metadata.
   *
   * @default - none
   */
  readonly meta?: Readonly<Record<string, string>>;
  /**
   * Publish this service through Traefik.
   *
   * @default - not routed; Traefik ignores the service
   */
  readonly route?: TraefikRoute;
}

/** Timing of health checks, restarts, reschedules and rolling updates, in seconds. */
export interface LifecyclePolicyProps {
  /** @default 10 */
  readonly checkIntervalSeconds?: number;
  /** @default 3 */
  readonly checkTimeoutSeconds?: number;
  /** Restarts on the same node within `restartIntervalSeconds` before giving up. @default 3 */
  readonly restartAttempts?: number;
  /** @default 300 */
  readonly restartIntervalSeconds?: number;
  /** @default 10 */
  readonly restartDelaySeconds?: number;
  /** First delay before placing a failed allocation elsewhere; grows exponentially. @default 15 */
  readonly rescheduleDelaySeconds?: number;
  /** @default 300 */
  readonly rescheduleMaxDelaySeconds?: number;
  /** Allocations updated at once during a rolling update. @default 1 */
  readonly maxParallel?: number;
  /** Time an allocation's checks must stay passing before it counts as healthy. @default 10 */
  readonly minHealthySeconds?: number;
  /** Time an allocation has to turn healthy before the deployment fails. @default 120 */
  readonly healthyDeadlineSeconds?: number;
  /** Time the whole deployment may go without progress. @default 600 */
  readonly progressDeadlineSeconds?: number;
  /** Roll back to the last stable version when a deployment fails. @default true */
  readonly autoRevert?: boolean;
}

export const DEFAULT_LIFECYCLE: Required<LifecyclePolicyProps> = {
  checkIntervalSeconds: 10,
  checkTimeoutSeconds: 3,
  restartAttempts: 3,
  restartIntervalSeconds: 300,
  restartDelaySeconds: 10,
  rescheduleDelaySeconds: 15,
  rescheduleMaxDelaySeconds: 300,
  maxParallel: 1,
  minHealthySeconds: 10,
  healthyDeadlineSeconds: 120,
  progressDeadlineSeconds: 600,
  autoRevert: true,
};

export function network(ports: readonly PortSpec[]): NetworkResource {
  const reserved = ports.filter((p) => p.static !== undefined);
  const dynamic = ports.filter((p) => p.static === undefined);
  return {
    Mode: "host",
    ...(reserved.length > 0 ? { ReservedPorts: reserved.map((p) => ({ Label: p.label, Value: p.static as number })) } : {}),
    ...(dynamic.length > 0
      ? { DynamicPorts: dynamic.map((p) => ({ Label: p.label, ...(p.to !== undefined ? { To: p.to } : {}) })) }
      : {}),
  };
}

function check(service: ServiceSpec, lifecycle: Required<LifecyclePolicyProps>): ServiceCheck {
  const base = {
    Name: `${service.name}-${service.portLabel}-${service.check.type}`,
    Interval: seconds(lifecycle.checkIntervalSeconds),
    Timeout: seconds(lifecycle.checkTimeoutSeconds),
    ...(service.check.portLabel ? { PortLabel: service.check.portLabel } : {}),
  };
  return service.check.type === "http"
    ? { ...base, Type: "http", Protocol: "http", Method: "GET", Path: service.check.path }
    : { ...base, Type: "tcp" };
}

export function consulService(service: ServiceSpec, lifecycle: Required<LifecyclePolicyProps>): Service {
  const tags = [...(service.route ? traefikTags(service.route) : []), ...(service.tags ?? [])];
  return {
    Name: service.name,
    PortLabel: service.portLabel,
    Provider: "consul",
    ...(tags.length > 0 ? { Tags: tags } : {}),
    ...(service.meta ? { Meta: { ...service.meta } } : {}),
    Checks: [check(service, lifecycle)],
  };
}

export const restartPolicy = (l: Required<LifecyclePolicyProps>): RestartPolicy => ({
  Attempts: l.restartAttempts,
  Interval: seconds(l.restartIntervalSeconds),
  Delay: seconds(l.restartDelaySeconds),
  Mode: "fail",
});

export const reschedulePolicy = (l: Required<LifecyclePolicyProps>): ReschedulePolicy => ({
  Attempts: 0,
  Interval: 0,
  Delay: seconds(l.rescheduleDelaySeconds),
  DelayFunction: "exponential",
  MaxDelay: seconds(l.rescheduleMaxDelaySeconds),
  Unlimited: true,
});

export const updateStrategy = (l: Required<LifecyclePolicyProps>): UpdateStrategy => ({
  MaxParallel: l.maxParallel,
  HealthCheck: "checks",
  MinHealthyTime: seconds(l.minHealthySeconds),
  HealthyDeadline: seconds(l.healthyDeadlineSeconds),
  ProgressDeadline: seconds(l.progressDeadlineSeconds),
  AutoRevert: l.autoRevert,
});
