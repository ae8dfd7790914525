/**
 * Registers a typed job with Nomad through the provider's `nomad_job` resource.
 *
 * The job goes in as JSON (`json = true`) under a top-level `Job` key: the form
 * `nomad job run -output` prints and `nomad job run -json` reads, and one of the two forms the
 * provider's JSON parser accepts. The provider compares old and new jobspecs after decoding and
 * canonicalizing both, so only a real change in the job produces a plan diff; keeping the
 * rendering deterministic (fixed key order, no timestamps) keeps even the raw string stable.
 */
import { Construct } from "constructs";
import { job as nomadJob } from "@cdktf/provider-nomad";
import type { Job, JobDocument } from "./model.js";

export interface NomadJobProps {
  /** The job to register. */
  readonly job: Job;
  /**
   * Purge the job from Nomad's state on destroy, so a later apply can reuse the ID at once.
   *
   * @default true
   */
  readonly purgeOnDestroy?: boolean;
}

export class NomadJob extends Construct {
  /** The job value, as rendered. */
  public readonly job: Job;
  /** The provider resource. */
  public readonly resource: nomadJob.Job;

  public constructor(scope: Construct, id: string, props: NomadJobProps) {
    super(scope, id);

    this.job = props.job;

    this.resource = new nomadJob.Job(this, "resource", {
      jobspec: escapeForTerraform(renderJobDocument(props.job)),
      json: true,
      purgeOnDestroy: props.purgeOnDestroy ?? true,
      deregisterOnDestroy: true,
      // Return once the job is registered; deployments are watched with Nomad's own tools.
      detach: true,
    });
  }
}

/** The JSON document for a job, as `nomad job run -json` and the provider read it. */
export function renderJobDocument(job: Job): string {
  const document: JobDocument = { Job: job };
  return JSON.stringify(document, null, 2);
}

/** CDKTF's encoding of an unresolved reference inside a string. */
const TOKEN_MARKER = "${TfToken[";

/**
 * Terraform reads every string in cdk.tf.json as a template: `${...}` is an interpolation and
 * `%{...}` a directive. Nomad's own `${NOMAD_TASK_DIR}` and the like must reach Nomad verbatim,
 * so they are written `$${...}`; CDKTF's reference markers are left for CDKTF to resolve.
 */
export function escapeForTerraform(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i += 1) {
    const pair = text.slice(i, i + 2);
    if (pair === "${" && !text.startsWith(TOKEN_MARKER, i)) {
      out += "$${";
      i += 1;
    } else if (pair === "%{") {
      out += "%%{";
      i += 1;
    } else {
      out += text[i];
    }
  }
  return out;
}
