/**
 * Locust as a parameterized batch job: registering it starts nothing; each
 * `nomad job dispatch -meta users=50 locust` runs one headless campaign against Traefik's
 * public entrypoint and keeps the CSV and HTML reports in the allocation.
 */
import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import type { PlatformSettings } from "./config.js";
import { parameterizedBatchJob } from "./nomad/batch-job.js";
import type { Job } from "./nomad/model.js";
import { NomadJob } from "./nomad/nomad-job.js";
import * as providers from "./providers.js";
import { locustHostEnv } from "./templates.js";
import { PLATFORM } from "./topology.js";

export function locustJob(settings: PlatformSettings): Job {
  const l = settings.locust;
  return parameterizedBatchJob({
    name: PLATFORM.locust,
    region: settings.region,
    datacenters: settings.datacenters,
    program: {
      artifact: l.artifact,
      ...(l.artifact.kind === "image" ? { command: "locust", hostNetwork: true } : {}),
      args: [
        "-f",
        l.locustfile,
        "--headless",
        "--users",
        "${NOMAD_META_users}",
        "--spawn-rate",
        "${NOMAD_META_spawn_rate}",
        "--run-time",
        "${NOMAD_META_run_time}",
        "--csv",
        "${NOMAD_ALLOC_DIR}/data/campaign",
        "--html",
        "${NOMAD_ALLOC_DIR}/data/campaign.html",
        "--only-summary",
      ],
    },
    parameters: { users: String(l.users), spawn_rate: String(l.spawnRate), run_time: l.runTime },
    templates: [locustHostEnv()],
    resources: l.resources,
  });
}

export class LoadtestStack extends TerraformStack {
  public readonly job: NomadJob;

  public constructor(scope: Construct, id: string, settings: PlatformSettings) {
    super(scope, id);

    providers.nomad(this, settings);

    this.job = new NomadJob(this, "locust", { job: locustJob(settings) });
  }
}
