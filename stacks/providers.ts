/**
 * Provider blocks. Addresses come from the settings (environment first, loopback defaults for
 * the lab); tokens are never written here: the providers read NOMAD_TOKEN, CONSUL_HTTP_TOKEN and
 * VAULT_TOKEN from the environment themselves.
 */
import type { Construct } from "constructs";
import { provider as consulProvider } from "@cdktf/provider-consul";
import { provider as nomadProvider } from "@cdktf/provider-nomad";
import { provider as vaultProvider } from "@cdktf/provider-vault";
import type { PlatformSettings } from "./config.js";

export const nomad = (scope: Construct, settings: PlatformSettings): nomadProvider.NomadProvider =>
  new nomadProvider.NomadProvider(scope, "nomad", { address: settings.nomadAddress, region: settings.region });

export const consul = (scope: Construct, settings: PlatformSettings): consulProvider.ConsulProvider =>
  new consulProvider.ConsulProvider(scope, "consul", { address: settings.consulAddress });

export const vault = (scope: Construct, settings: PlatformSettings): vaultProvider.VaultProvider =>
  new vaultProvider.VaultProvider(scope, "vault", { address: settings.vaultAddress });
