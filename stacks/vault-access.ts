/**
 * The `vault` block a task gets, by integration mode: policies for Nomad 1.6's token-based
 * integration, a JWT role for Nomad 1.7+ workload identity. The platform stack declares the
 * policies and roles under the same names either way.
 */
import type { PlatformSettings } from "./config.js";
import type { Vault } from "./nomad/model.js";
import { vaultPolicyName, vaultRoleName } from "./topology.js";

export function vaultAccess(settings: PlatformSettings, job: string): Vault {
  return settings.vault.mode === "token"
    ? { Policies: [vaultPolicyName(job)], ChangeMode: "restart" }
    : { Role: vaultRoleName(job), ChangeMode: "restart" };
}
