/**
 * The `vault` block a task gets, by integration mode: policies for Nomad 1.6's token-based
 * integration, a JWT role for Nomad 1.7+ workload identity (with the `vault_default` identity the
 * task logs in with, whose audience the roles are bound to). The platform stack declares the
 * policies and roles under the same names either way. Also where a job's templates read its
 * credentials: Vault, or Nomad Variables when the target has no Vault (`secretsStore`).
 */
import type { PlatformSettings } from "./config.js";
import { seconds, VAULT_DEFAULT_IDENTITY, type Vault, type WorkloadIdentity } from "./nomad/model.js";
import type { SecretSource } from "./templates.js";
import { vaultPolicyName, vaultRoleName } from "./topology.js";

/** The task's `vault` block; none when the target keeps its secrets in Nomad Variables. */
export function vaultAccess(settings: PlatformSettings, job: string): Vault | undefined {
  if (settings.secretsStore !== "vault") return undefined;
  return settings.vault.mode === "token"
    ? { Policies: [vaultPolicyName(job)], ChangeMode: "restart" }
    : { Role: vaultRoleName(job), ChangeMode: "restart" };
}

/**
 * The identity a task with a `role` vault block logs in to Vault with: its audience is the one the
 * JWT roles are bound to. None in token mode or without Vault.
 */
export function vaultIdentities(settings: PlatformSettings): WorkloadIdentity[] | undefined {
  if (settings.secretsStore !== "vault" || settings.vault.mode !== "workload-identity") return undefined;
  return [
    {
      Name: VAULT_DEFAULT_IDENTITY,
      Audience: [settings.vault.jwtAudience],
      TTL: seconds(settings.vault.tokenTtlSeconds),
    },
  ];
}

/** Where `job`'s templates read its credentials under the target's secrets store. */
export function secretSource(settings: PlatformSettings, job: string): SecretSource {
  return settings.secretsStore === "vault"
    ? { store: "vault", kvMount: settings.vault.kvMount }
    : { store: "nomad-variables", job };
}
