/**
 * Composition: every stack of one target, with the order `cdktf deploy` must follow, and the
 * full list of jobs (including those a target declares but does not deploy).
 */
import type { Construct } from "constructs";
import type { PlatformSettings } from "./config.js";
import { GatewayStack, traefikJob } from "./gateway-stack.js";
import { LoadtestStack, locustJob } from "./loadtest-stack.js";
import { MessagingStack, rabbitmqJob } from "./messaging-stack.js";
import type { Job } from "./nomad/model.js";
import { ObservabilityStack, grafanaJob, prometheusJob } from "./observability-stack.js";
import { PlatformStack } from "./platform-stack.js";
import { SERVICE_KEYS, ServicesStack, applicationJob } from "./services-stack.js";

export interface PlatformStacks {
  readonly platform: PlatformStack;
  readonly messaging: MessagingStack;
  readonly services: ServicesStack;
  readonly gateway: GatewayStack;
  readonly observability: ObservabilityStack;
  readonly loadtest: LoadtestStack;
}

/** Stack ids carry the target so the two targets never share Terraform state. */
export const stackId = (settings: PlatformSettings, name: string): string => `orderlab-${settings.target}-${name}`;

export function buildPlatform(scope: Construct, settings: PlatformSettings): PlatformStacks {
  const platform = new PlatformStack(scope, stackId(settings, "platform"), settings);
  const messaging = new MessagingStack(scope, stackId(settings, "messaging"), settings);
  const services = new ServicesStack(scope, stackId(settings, "services"), settings);
  const gateway = new GatewayStack(scope, stackId(settings, "gateway"), settings);
  const observability = new ObservabilityStack(scope, stackId(settings, "observability"), settings);
  const loadtest = new LoadtestStack(scope, stackId(settings, "loadtest"), settings);

  // Secrets and policies before anything reads them; the broker before its clients.
  messaging.addDependency(platform);
  services.addDependency(messaging);
  gateway.addDependency(platform);
  observability.addDependency(platform);
  loadtest.addDependency(gateway);

  return { platform, messaging, services, gateway, observability, loadtest };
}

/** Every job of the platform, keyed by job name, whether or not the target deploys it. */
export function allJobs(settings: PlatformSettings): Record<string, Job> {
  const jobs = [
    rabbitmqJob(settings),
    ...SERVICE_KEYS.map((key) => applicationJob(settings, key)),
    traefikJob(settings),
    prometheusJob(settings),
    grafanaJob(settings),
    locustJob(settings),
  ];
  return Object.fromEntries(jobs.map((job) => [job.ID, job]));
}
