/** Synthesizes a target's stacks in memory and decodes what Nomad would receive. */
import { Testing, type TerraformStack } from "cdktf";
import { settingsFor, type PlatformSettings, type Target } from "../../../stacks/config.js";
import type { Job, JobDocument } from "../../../stacks/nomad/model.js";
import { buildPlatform, type PlatformStacks } from "../../../stacks/platform.js";

/** A fixed checkout path, so assertions do not depend on where the tests run. */
export const TEST_REPO_DIR = "/srv/orderlab";

export interface SynthesizedTarget {
  readonly settings: PlatformSettings;
  readonly stacks: PlatformStacks;
  /** cdk.tf.json text of each stack, by stack property name. */
  readonly json: Record<keyof PlatformStacks, string>;
  /** Every registered job, decoded from its `nomad_job` resource, by job ID. */
  readonly jobs: Record<string, Job>;
  /** Every `nomad_job` resource's attributes, by job ID. */
  readonly jobResources: Record<string, Record<string, unknown>>;
}

/** Undoes the `$${` / `%%{` escaping Terraform itself removes when it reads a string. */
export const terraformString = (text: string): string => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

/** Synthesizes a target, with some of its settings changed where `override` says. */
export function synthTarget(target: Target, override: Partial<PlatformSettings> = {}): SynthesizedTarget {
  const settings = { ...settingsFor(target, { ORDERLAB_REPO_DIR: TEST_REPO_DIR }), ...override };
  const app = Testing.app();
  const stacks = buildPlatform(app, settings);
  const json = Object.fromEntries(
    Object.entries(stacks).map(([name, stack]) => [name, Testing.synth(stack as TerraformStack)]),
  ) as Record<keyof PlatformStacks, string>;

  const jobs: Record<string, Job> = {};
  const jobResources: Record<string, Record<string, unknown>> = {};
  for (const text of Object.values(json)) {
    const parsed = JSON.parse(text) as { resource?: { nomad_job?: Record<string, Record<string, unknown>> } };
    for (const resource of Object.values(parsed.resource?.nomad_job ?? {})) {
      const document = JSON.parse(terraformString(resource.jobspec as string)) as JobDocument;
      jobs[document.Job.ID] = document.Job;
      jobResources[document.Job.ID] = resource;
    }
  }
  return { settings, stacks, json, jobs, jobResources };
}

/** Resources of one type across a synthesized stack. */
export function resourcesOf(stackJson: string, type: string): Record<string, Record<string, unknown>> {
  const parsed = JSON.parse(stackJson) as { resource?: Record<string, Record<string, Record<string, unknown>>> };
  return parsed.resource?.[type] ?? {};
}
