/**
 * Consul and the secrets store for the platform: how services may talk (service-defaults and
 * intentions, default deny) and where their credentials live, by `secretsStore`:
 * - `vault`: KV v2, one read-only policy per job, and a JWT auth backend with a role per job
 *   for Nomad workload identity;
 * - `nomad-variables`: one Nomad Variable per reading job at `nomad/jobs/<job>`, holding exactly
 *   the credentials that job reads. No Vault resource is declared.
 *
 * Credential values are sensitive Terraform variables without defaults; set them with
 * TF_VAR_<name> when applying. They never appear in the code or in cdktf.out.
 */
import { Construct } from "constructs";
import { Fn, TerraformStack, TerraformVariable } from "cdktf";
import { configEntry, configEntryServiceIntentions } from "@cdktf/provider-consul";
import { variable as nomadVariable } from "@cdktf/provider-nomad";
import { jwtAuthBackend, jwtAuthBackendRole, kvSecretV2, mount, policy } from "@cdktf/provider-vault";
import type { PlatformSettings } from "./config.js";
import * as providers from "./providers.js";
import {
  ALLOWED_CONNECTIONS,
  BROKER_ACCOUNTS,
  GRAFANA_ADMIN_SECRET,
  HTTP_SERVICES,
  PLATFORM,
  SECRET_READERS,
  brokerSecretName,
  kvDataPath,
  nomadJobVariablePath,
  variableItemKey,
  vaultPolicyName,
  vaultRoleName,
} from "./topology.js";

/** Admin account name Grafana gets from Vault. */
/** The Nomad namespace of every job (no job sets another), bound in each Vault role. */
const NOMAD_NAMESPACE = "default";

export const GRAFANA_ADMIN_USER = "orderlab-admin";

/** Name of the sensitive variable holding a secret's password. */
export const passwordVariableName = (secret: string): string => `${secret.replace(/[^a-z0-9]+/g, "_")}_password`;

/** A Vault policy granting read on exactly the given KV v2 data paths. */
export function readOnlyPolicy(paths: readonly string[]): string {
  return paths.map((path) => `path "${path}" {\n  capabilities = ["read"]\n}\n`).join("\n");
}

export class PlatformStack extends TerraformStack {
  public constructor(scope: Construct, id: string, settings: PlatformSettings) {
    super(scope, id);

    providers.consul(this, settings);
    this.declareConsul();

    if (settings.secretsStore === "vault") {
      providers.vault(this, settings);
      this.declareVault(settings);
    } else {
      providers.nomad(this, settings);
      this.declareNomadVariables();
    }
  }

  /** Every credential: secret name, account name, and its sensitive password variable. */
  private credentials(description: (secret: string) => string): { secret: string; username: string; password: string }[] {
    const secrets = [
      ...BROKER_ACCOUNTS.map((account) => ({ secret: brokerSecretName(account), username: account })),
      { secret: GRAFANA_ADMIN_SECRET, username: GRAFANA_ADMIN_USER },
    ];
    return secrets.map(({ secret, username }) => {
      const password = new TerraformVariable(this, passwordVariableName(secret), {
        type: "string",
        sensitive: true,
        nullable: false,
        description: description(secret),
      });
      return { secret, username, password: password.stringValue };
    });
  }

  private declareNomadVariables(): void {
    const credentials = this.credentials(
      (secret) => `Password of ${secret}, stored in the Nomad Variables of the jobs that read it`,
    );
    const bySecret = new Map(credentials.map((c) => [c.secret, c]));
    for (const [job, readable] of Object.entries(SECRET_READERS)) {
      const items: Record<string, string> = {};
      for (const secret of readable) {
        const credential = bySecret.get(secret);
        if (!credential) throw new Error(`job "${job}" reads "${secret}", which no credential declares`);
        items[variableItemKey(secret, "username")] = credential.username;
        items[variableItemKey(secret, "password")] = credential.password;
      }
      new nomadVariable.Variable(this, `variable-${job}`, {
        path: nomadJobVariablePath(job),
        namespace: "default",
        items,
      });
    }
  }

  private declareConsul(): void {
    for (const service of [...HTTP_SERVICES, PLATFORM.rabbitmq]) {
      new configEntry.ConfigEntry(this, `service-defaults-${service}`, {
        kind: "service-defaults",
        name: service,
        // A JSON literal rather than jsonencode(): the same document, readable without Terraform.
        configJson: JSON.stringify({ Protocol: HTTP_SERVICES.includes(service) ? "http" : "tcp" }),
      });
    }

    // Default deny: nothing reaches anything unless an intention below allows it.
    new configEntryServiceIntentions.ConfigEntryServiceIntentions(this, "intentions-default-deny", {
      name: "*",
      sources: [{ name: "*", action: "deny", description: "default deny" }],
    });

    const destinations = [...new Set(ALLOWED_CONNECTIONS.map((c) => c.destination))].sort();
    for (const destination of destinations) {
      const allowed = ALLOWED_CONNECTIONS.filter((c) => c.destination === destination)
        .map((c) => c.source)
        .sort();
      new configEntryServiceIntentions.ConfigEntryServiceIntentions(this, `intentions-${destination}`, {
        name: destination,
        sources: [
          ...allowed.map((source) => ({ name: source, action: "allow" })),
          { name: "*", action: "deny", description: "sources not listed" },
        ],
      });
    }
  }

  private declareVault(settings: PlatformSettings): void {
    const kv = new mount.Mount(this, "kv", {
      path: settings.vault.kvMount,
      type: "kv",
      options: { version: "2" },
      description: "Credentials of the order lab platform",
    });

    const credentials = this.credentials(
      (secret) => `Password stored in Vault at ${kvDataPath(settings.vault.kvMount, secret)}`,
    );
    for (const { secret, username, password } of credentials) {
      new kvSecretV2.KvSecretV2(this, `secret-${secret.replace(/\//g, "-")}`, {
        mount: kv.path,
        name: secret,
        dataJson: Fn.jsonencode({ username, password }),
      });
    }

    const jwt = new jwtAuthBackend.JwtAuthBackend(this, "nomad-workload-identity", {
      path: settings.vault.jwtAuthPath,
      type: "jwt",
      description: "Nomad workload identities",
      jwksUrl: `${settings.nomadAddress}/.well-known/jwks.json`,
      jwtSupportedAlgs: ["RS256", "EdDSA"],
    });

    for (const [job, readable] of Object.entries(SECRET_READERS)) {
      const jobPolicy = new policy.Policy(this, `policy-${job}`, {
        name: vaultPolicyName(job),
        policy: readOnlyPolicy(readable.map((secret) => kvDataPath(settings.vault.kvMount, secret))),
      });
      new jwtAuthBackendRole.JwtAuthBackendRole(this, `role-${job}`, {
        backend: jwt.path,
        roleName: vaultRoleName(job),
        roleType: "jwt",
        boundAudiences: [settings.vault.jwtAudience],
        userClaim: "/nomad_job_id",
        userClaimJsonPointer: true,
        // Both claims: a job of the same name in another namespace must not read these secrets.
        boundClaims: { nomad_namespace: NOMAD_NAMESPACE, nomad_job_id: job },
        claimMappings: { nomad_namespace: "nomad_namespace", nomad_job_id: "nomad_job_id", nomad_task: "nomad_task" },
        tokenType: "service",
        tokenPolicies: [jobPolicy.name],
        tokenPeriod: settings.vault.tokenTtlSeconds,
      });
    }
  }
}
