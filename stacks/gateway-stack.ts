/**
 * Traefik, reading routes from Consul Catalog. Services are not exposed unless they carry
 * `traefik.enable=true`; only the public routes of `topology.ts` carry it.
 */
import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { PlatformSettings } from "./config.js";
import type { Job } from "./nomad/model.js";
import { NomadJob } from "./nomad/nomad-job.js";
import { serviceJob } from "./nomad/service-job.js";
import * as providers from "./providers.js";
import { WEB_ENTRYPOINT } from "./services-stack.js";
import { PLATFORM } from "./topology.js";

/** Traefik's internal entrypoint for its ping endpoint. */
const ADMIN_ENTRYPOINT = "admin";

export function traefikJob(settings: PlatformSettings): Job {
  const t = settings.traefik;
  const bind = settings.bindAddress;
  return serviceJob({
    name: PLATFORM.traefik,
    region: settings.region,
    datacenters: settings.datacenters,
    program: {
      artifact: t.artifact,
      hostNetwork: true,
      args: [
        `--entrypoints.${WEB_ENTRYPOINT}.address=${bind}:${t.entrypointPort}`,
        `--entrypoints.${ADMIN_ENTRYPOINT}.address=${bind}:${t.adminPort}`,
        "--ping=true",
        `--ping.entrypoint=${ADMIN_ENTRYPOINT}`,
        "--api.dashboard=false",
        "--providers.consulcatalog=true",
        "--providers.consulcatalog.exposedbydefault=false",
        "--providers.consulcatalog.prefix=traefik",
        `--providers.consulcatalog.endpoint.address=${settings.consulAddress}`,
        "--log.level=INFO",
        "--accesslog=true",
      ],
    },
    ports: [
      { label: "web", static: t.entrypointPort },
      { label: "admin", static: t.adminPort },
    ],
    services: [{ name: PLATFORM.traefik, portLabel: "web", check: { type: "http", path: "/ping", portLabel: "admin" } }],
    resources: t.resources,
  });
}

export class GatewayStack extends TerraformStack {
  public readonly job: NomadJob;

  public constructor(scope: Construct, id: string, settings: PlatformSettings) {
    super(scope, id);

    providers.nomad(this, settings);

    this.job = new NomadJob(this, "traefik", { job: traefikJob(settings) });

    new TerraformOutput(this, "public-url", { value: settings.traefik.publicUrl });
  }
}
