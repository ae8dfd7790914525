/**
 * The lab's stand-in for `cdktf deploy` / `cdktf destroy`.
 *
 * The Terraform providers the stacks are written for (hashicorp/nomad 2.5.2, hashicorp/consul
 * 2.22.1, hashicorp/vault 5.6.0) cannot be obtained on the lab machine (docs/lab-tools.md), so
 * Terraform cannot apply the synthesized stacks here. This applier reads the same synthesized
 * configuration (`cdktf.out/stacks/<stack>/cdk.tf.json`) and applies the resource types the lab
 * uses through the agents' HTTP APIs:
 *
 *   nomad_job                                jobspec (JSON) -> plan (Diff) -> POST /v1/jobs
 *   nomad_variable                           PUT /v1/var/<path>
 *   consul_config_entry(_service_intentions) PUT /v1/config
 *   vault_mount                              POST /v1/sys/mounts/<path>
 *   vault_kv_secret_v2                       POST /v1/<mount>/data/<name>
 *   vault_policy                             PUT /v1/sys/policies/acl/<name>
 *   vault_jwt_auth_backend                   POST /v1/sys/auth/<path>, /v1/auth/<path>/config
 *   vault_jwt_auth_backend_role              POST /v1/auth/<backend>/role/<name>
 *
 * Any other resource type is refused with its name. Stacks are applied in the dependency order of
 * cdktf.out/manifest.json, a stack's resources after those they refer to, and destroyed in
 * reverse. Strings are read as Terraform reads them (./expressions.ts): `${var.NAME}` comes from
 * TF_VAR_NAME, as Terraform would; values are never printed.
 *
 *   npx tsx scripts/lab/apply.ts apply [--check] [--out cdktf.out]
 *   npx tsx scripts/lab/apply.ts destroy [--out cdktf.out]
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { HttpError, consul, nomad, vault } from "./agents.js";
import { type ReferenceResolver, referencesIn, terraformString } from "./expressions.js";

/** Resource types this applier knows. */
export const SUPPORTED_TYPES = [
  "nomad_job",
  "nomad_variable",
  "consul_config_entry",
  "consul_config_entry_service_intentions",
  "vault_mount",
  "vault_kv_secret_v2",
  "vault_policy",
  "vault_jwt_auth_backend",
  "vault_jwt_auth_backend_role",
] as const;

type SupportedType = (typeof SUPPORTED_TYPES)[number];
type Attributes = Record<string, unknown>;

export interface StackResource {
  readonly stack: string;
  readonly type: SupportedType;
  readonly name: string;
  readonly attributes: Attributes;
}

interface Manifest {
  stacks: Record<string, { name: string; dependencies: string[]; synthesizedStackPath: string }>;
}

interface StackDocument {
  resource?: Record<string, Record<string, Attributes>>;
  variable?: Record<string, Attributes>;
}

export class UnsupportedResourceError extends Error {}

/** Stacks of a synthesized output directory, dependencies first. */
export function stacksInOrder(outDir: string): { name: string; file: string }[] {
  const manifest = JSON.parse(readFileSync(join(outDir, "manifest.json"), "utf8")) as Manifest;
  const ordered: string[] = [];
  const visit = (name: string, trail: string[]) => {
    if (ordered.includes(name)) return;
    if (trail.includes(name)) throw new Error(`stack dependency cycle: ${[...trail, name].join(" -> ")}`);
    const stack = manifest.stacks[name];
    if (!stack) throw new Error(`manifest.json names an unknown stack "${name}"`);
    for (const dep of [...stack.dependencies].sort()) visit(dep, [...trail, name]);
    ordered.push(name);
  };
  for (const name of Object.keys(manifest.stacks).sort()) visit(name, []);
  return ordered.map((name) => ({ name, file: join(outDir, manifest.stacks[name]!.synthesizedStackPath) }));
}

/** Resolves every string inside a value. */
function resolveValue(value: unknown, variables: Readonly<Record<string, string>>, where: string, reference: ReferenceResolver): unknown {
  if (typeof value === "string") return terraformString(value, variables, where, reference);
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, variables, where, reference));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "//")
        .map(([key, v]) => [key, resolveValue(v, variables, where, reference)]),
    );
  }
  return value;
}

/** Variable values from the environment, as Terraform reads them: TF_VAR_<name>. */
export function variablesFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith("TF_VAR_") && value !== undefined) out[key.slice("TF_VAR_".length)] = value;
  }
  return out;
}

/**
 * A stack's resources in an order Terraform could apply them: every resource after those its
 * arguments refer to (a KV secret after its mount, a JWT role after its backend).
 */
function inDependencyOrder(byType: Record<string, Record<string, Attributes>>): { type: string; name: string; raw: Attributes }[] {
  const all = Object.entries(byType).flatMap(([type, byName]) => Object.entries(byName).map(([name, raw]) => ({ type, name, raw })));
  const byAddress = new Map(all.map((r) => [`${r.type}.${r.name}`, r]));
  const ordered: typeof all = [];
  const visit = (address: string, trail: string[]) => {
    const resource = byAddress.get(address);
    if (!resource || ordered.includes(resource)) return;
    if (trail.includes(address)) throw new Error(`resource reference cycle: ${[...trail, address].join(" -> ")}`);
    for (const dependency of referencesIn(JSON.stringify(resource.raw))) visit(dependency, [...trail, address]);
    ordered.push(resource);
  };
  for (const address of byAddress.keys()) visit(address, []);
  return ordered;
}

/** Every resource of the synthesized stacks, resolved; refuses unknown types and missing variables. */
export function loadResources(outDir: string, variables: Readonly<Record<string, string>>): StackResource[] {
  const resources: StackResource[] = [];
  const unsupported: string[] = [];
  for (const { name: stack, file } of stacksInOrder(outDir)) {
    const doc = JSON.parse(readFileSync(file, "utf8")) as StackDocument;
    for (const variable of Object.keys(doc.variable ?? {})) {
      if (variables[variable] === undefined) throw new Error(`stack ${stack}: variable "${variable}" has no value; set TF_VAR_${variable}`);
    }
    const byType = doc.resource ?? {};
    for (const [type, byName] of Object.entries(byType)) {
      if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) unsupported.push(`${type} (${stack}: ${Object.keys(byName).join(", ")})`);
    }
    if (unsupported.length > 0) continue;
    // An argument of another resource of this stack, as Terraform would read it (inputs only).
    const reference: ReferenceResolver = (type, name, attribute) => {
      const raw = byType[type]?.[name]?.[attribute];
      return typeof raw === "string" ? terraformString(raw, variables, `${stack} ${type}.${name}`, reference) : undefined;
    };
    for (const { type, name, raw } of inDependencyOrder(byType)) {
      const where = `${stack} ${type}.${name}`;
      resources.push({ stack, type: type as SupportedType, name, attributes: resolveValue(raw, variables, where, reference) as Attributes });
    }
  }
  if (unsupported.length > 0) {
    throw new UnsupportedResourceError(
      `the lab applier does not apply these resource types: ${unsupported.join("; ")}. ` +
        `It applies ${SUPPORTED_TYPES.join(", ")} only; other targets need \`cdktf deploy\` with their providers.`,
    );
  }
  return resources;
}

// --- per type ---------------------------------------------------------------

interface JobDocument {
  Job: { ID: string; Type?: string } & Attributes;
}

function jobOf(resource: StackResource): JobDocument["Job"] {
  if (resource.attributes.json !== true) throw new Error(`${resource.stack} nomad_job.${resource.name}: only json = true jobspecs are supported`);
  const document = JSON.parse(resource.attributes.jobspec as string) as JobDocument;
  return document.Job;
}

function configEntryOf(resource: StackResource): { Kind: string; Name: string } & Attributes {
  const a = resource.attributes;
  if (resource.type === "consul_config_entry") {
    const config = a.config_json === undefined ? {} : (JSON.parse(a.config_json as string) as Attributes);
    return { Kind: a.kind as string, Name: a.name as string, ...config };
  }
  const sources = (a.sources as Attributes[]).map((s) => ({
    Name: s.name,
    Action: s.action,
    ...(s.description ? { Description: s.description } : {}),
  }));
  return { Kind: "service-intentions", Name: a.name as string, Sources: sources };
}

function variableOf(resource: StackResource): { Path: string; Namespace: string; Items: Record<string, string> } {
  const a = resource.attributes;
  return { Path: a.path as string, Namespace: (a.namespace as string | undefined) ?? "default", Items: a.items as Record<string, string> };
}

export type Change = "create" | "update" | "none";

export interface PlannedChange {
  readonly resource: StackResource;
  readonly address: string;
  readonly change: Change;
  readonly detail: string;
}

async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return undefined;
    throw error;
  }
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function sortKeys<T>(items: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(items).sort(([a], [b]) => a.localeCompare(b)));
}

/** Consul adds bookkeeping to intentions it returns (Precedence, Type, timestamps); compare what we set. */
function normalizeEntry(key: string, value: unknown): unknown {
  if (key !== "Sources" || !Array.isArray(value)) return value;
  return (value as Attributes[]).map((s) => ({
    Name: s.Name,
    Action: s.Action,
    ...(s.Description ? { Description: s.Description } : {}),
  }));
}

/** Compares the fields a resource sets with what the agent holds; the agent's extra fields are its own. */
function compare(wanted: Attributes, current: Attributes | undefined, what: string): { change: Change; detail: string } {
  if (!current) return { change: "create", detail: "absent" };
  const differing = Object.keys(wanted).filter((key) => !sameJson(normalize(current[key]), normalize(wanted[key])));
  return differing.length === 0
    ? { change: "none", detail: `${what} equal` }
    : { change: "update", detail: `${what} differs: ${differing.sort().join(", ")}` };
}

/** Key order and list order do not make a difference to Vault. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return [...value].map(normalize).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (value !== null && typeof value === "object") return sortKeys(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)])));
  return value;
}

/** Vault answers a read with `{ data: ... }`. */
async function vaultRead(path: string): Promise<Attributes | undefined> {
  const answer = await getOrUndefined(() => vault<{ data?: Attributes }>("GET", path));
  return answer?.data;
}

/** A secrets engine or auth method mounted at `path`, from Vault's list of them (`sys/mounts` or `sys/auth`). */
async function vaultMounted(list: "mounts" | "auth", path: string): Promise<Attributes | undefined> {
  const mounted = await vault<{ data: Record<string, Attributes> }>("GET", `/v1/sys/${list}`);
  return mounted.data[`${path}/`];
}

/**
 * A KV v2 write right after its mount is created can meet the mount's upgrade to versioned data,
 * which Vault answers "Upgrading from non-versioned to versioned data"; wait that out, nothing else.
 */
async function vaultWriteRetrying(path: string, body: unknown): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await vault("POST", path, body);
      return;
    } catch (error) {
      if (!(error instanceof HttpError) || !error.message.includes("Upgrading from non-versioned") || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Deletes a resource `found` says is there; false when it was not. */
async function deleteIfFound(found: unknown, remove: () => Promise<unknown>): Promise<boolean> {
  if (!found) return false;
  await remove();
  return true;
}

interface Handler {
  address(resource: StackResource): string;
  plan(resource: StackResource): Promise<{ change: Change; detail: string }>;
  apply(resource: StackResource): Promise<void>;
  /** Deletes the resource; false when it was not there. */
  destroy(resource: StackResource): Promise<boolean>;
}

const configEntry: Handler = {
  address: (r) => {
    const e = configEntryOf(r);
    return `consul config ${e.Kind}/${e.Name}`;
  },
  async plan(r) {
    const entry = configEntryOf(r);
    const current = await getOrUndefined(() => consul<Attributes>("GET", `/v1/config/${entry.Kind}/${encodeURIComponent(entry.Name)}`));
    if (!current) return { change: "create", detail: "absent" };
    const same = Object.entries(entry).every(([key, value]) => sameJson(normalizeEntry(key, current[key]), normalizeEntry(key, value)));
    return { change: same ? "none" : "update", detail: same ? "entry equal" : "entry differs" };
  },
  async apply(r) {
    await consul("PUT", "/v1/config", configEntryOf(r));
  },
  async destroy(r) {
    const entry = configEntryOf(r);
    const path = `/v1/config/${entry.Kind}/${encodeURIComponent(entry.Name)}`;
    return deleteIfFound(await getOrUndefined(() => consul("GET", path)), () => consul("DELETE", path));
  },
};

/** The fields of a resource that Vault stores as given, without the path arguments. */
const vaultFields = (r: StackResource, ...pathArguments: string[]): Attributes =>
  Object.fromEntries(Object.entries(r.attributes).filter(([key]) => !pathArguments.includes(key)));

const HANDLERS: Record<SupportedType, Handler> = {
  nomad_job: {
    address: (r) => `nomad job ${jobOf(r).ID}`,
    async plan(r) {
      const job = jobOf(r);
      const plan = await nomad<{ Diff?: { Type: string } }>("POST", `/v1/job/${encodeURIComponent(job.ID)}/plan`, { Job: job, Diff: true });
      const type = plan.Diff?.Type ?? "None";
      return { change: type === "Added" ? "create" : type === "None" ? "none" : "update", detail: `Nomad plan diff: ${type}` };
    },
    async apply(r) {
      await nomad("POST", "/v1/jobs", { Job: jobOf(r) });
    },
    async destroy(r) {
      const id = encodeURIComponent(jobOf(r).ID);
      return deleteIfFound(await getOrUndefined(() => nomad("GET", `/v1/job/${id}`)), () => nomad("DELETE", `/v1/job/${id}?purge=true`));
    },
  },
  nomad_variable: {
    address: (r) => `nomad variable ${variableOf(r).Path}`,
    async plan(r) {
      const v = variableOf(r);
      const current = await getOrUndefined(() =>
        nomad<{ Items: Record<string, string> }>("GET", `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`),
      );
      if (!current) return { change: "create", detail: "absent" };
      const same = sameJson(sortKeys(current.Items), sortKeys(v.Items));
      return { change: same ? "none" : "update", detail: same ? "items equal" : "items differ" };
    },
    async apply(r) {
      const v = variableOf(r);
      await nomad("PUT", `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`, v);
    },
    async destroy(r) {
      const v = variableOf(r);
      const path = `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`;
      return deleteIfFound(await getOrUndefined(() => nomad("GET", path)), () => nomad("DELETE", path));
    },
  },
  consul_config_entry: configEntry,
  consul_config_entry_service_intentions: configEntry,
  vault_mount: {
    address: (r) => `vault mount ${String(r.attributes.path)}`,
    async plan(r) {
      const current = await vaultMounted("mounts", String(r.attributes.path));
      if (current && current.type !== r.attributes.type) return { change: "update", detail: `mount is ${String(current.type)}: replace` };
      return compare(vaultFields(r, "path"), current, "mount");
    },
    async apply(r) {
      const path = String(r.attributes.path);
      const current = await vaultMounted("mounts", path);
      // A tune cannot change a mount's type: one of another type is replaced, with what it held.
      if (current && current.type !== r.attributes.type) await vault("DELETE", `/v1/sys/mounts/${path}`);
      if (current && current.type === r.attributes.type) await vault("POST", `/v1/sys/mounts/${path}/tune`, vaultFields(r, "path", "type"));
      else await vault("POST", `/v1/sys/mounts/${path}`, vaultFields(r, "path"));
    },
    async destroy(r) {
      const path = String(r.attributes.path);
      return deleteIfFound(await vaultMounted("mounts", path), () => vault("DELETE", `/v1/sys/mounts/${path}`));
    },
  },
  vault_kv_secret_v2: {
    address: (r) => `vault secret ${String(r.attributes.mount)}/${String(r.attributes.name)}`,
    async plan(r) {
      if (!(await vaultMounted("mounts", String(r.attributes.mount)))) return { change: "create", detail: "absent" };
      const current = await vaultRead(`/v1/${String(r.attributes.mount)}/data/${String(r.attributes.name)}`);
      if (!current?.data) return { change: "create", detail: "absent" };
      // Values are compared, never printed.
      const same = sameJson(sortKeys(current.data as Attributes), sortKeys(JSON.parse(String(r.attributes.data_json)) as Attributes));
      return { change: same ? "none" : "update", detail: same ? "data equal" : "data differs" };
    },
    async apply(r) {
      const data = JSON.parse(String(r.attributes.data_json)) as Attributes;
      await vaultWriteRetrying(`/v1/${String(r.attributes.mount)}/data/${String(r.attributes.name)}`, { data });
    },
    async destroy(r) {
      if (!(await vaultMounted("mounts", String(r.attributes.mount)))) return false;
      const path = `/v1/${String(r.attributes.mount)}/metadata/${String(r.attributes.name)}`;
      return deleteIfFound(await vaultRead(path), () => vault("DELETE", path));
    },
  },
  vault_policy: {
    address: (r) => `vault policy ${String(r.attributes.name)}`,
    async plan(r) {
      const current = await vaultRead(`/v1/sys/policies/acl/${String(r.attributes.name)}`);
      return compare({ policy: r.attributes.policy }, current, "policy");
    },
    async apply(r) {
      await vault("PUT", `/v1/sys/policies/acl/${String(r.attributes.name)}`, { policy: r.attributes.policy });
    },
    async destroy(r) {
      const path = `/v1/sys/policies/acl/${String(r.attributes.name)}`;
      return deleteIfFound(await vaultRead(path), () => vault("DELETE", path));
    },
  },
  vault_jwt_auth_backend: {
    address: (r) => `vault auth ${String(r.attributes.path)}`,
    async plan(r) {
      const path = String(r.attributes.path);
      const mounted = await vaultMounted("auth", path);
      if (!mounted) return { change: "create", detail: "absent" };
      if (mounted.type !== r.attributes.type) return { change: "update", detail: `auth method is ${String(mounted.type)}: replace` };
      const config = await vaultRead(`/v1/auth/${path}/config`);
      return compare(vaultFields(r, "path", "type", "description"), config, "config");
    },
    async apply(r) {
      const path = String(r.attributes.path);
      const mounted = await vaultMounted("auth", path);
      // An auth method of another type at this path is replaced, roles and all.
      if (mounted && mounted.type !== r.attributes.type) await vault("DELETE", `/v1/sys/auth/${path}`);
      if (!mounted || mounted.type !== r.attributes.type) {
        await vault("POST", `/v1/sys/auth/${path}`, { type: r.attributes.type, description: r.attributes.description });
      }
      await vault("POST", `/v1/auth/${path}/config`, vaultFields(r, "path", "type", "description"));
    },
    async destroy(r) {
      const path = String(r.attributes.path);
      return deleteIfFound(await vaultMounted("auth", path), () => vault("DELETE", `/v1/sys/auth/${path}`));
    },
  },
  vault_jwt_auth_backend_role: {
    address: (r) => `vault role ${String(r.attributes.backend)}/${String(r.attributes.role_name)}`,
    async plan(r) {
      if (!(await vaultMounted("auth", String(r.attributes.backend)))) return { change: "create", detail: "absent" };
      const current = await vaultRead(`/v1/auth/${String(r.attributes.backend)}/role/${String(r.attributes.role_name)}`);
      return compare(vaultFields(r, "backend", "role_name"), current, "role");
    },
    async apply(r) {
      await vault("POST", `/v1/auth/${String(r.attributes.backend)}/role/${String(r.attributes.role_name)}`, vaultFields(r, "backend", "role_name"));
    },
    async destroy(r) {
      // The roles go with their backend.
      if (!(await vaultMounted("auth", String(r.attributes.backend)))) return false;
      const path = `/v1/auth/${String(r.attributes.backend)}/role/${String(r.attributes.role_name)}`;
      return deleteIfFound(await vaultRead(path), () => vault("DELETE", path));
    },
  },
};

/** What applying a resource would change, asked of the agents themselves. */
export async function planResource(resource: StackResource): Promise<PlannedChange> {
  const handler = HANDLERS[resource.type];
  return { resource, address: handler.address(resource), ...(await handler.plan(resource)) };
}

// --- commands ---------------------------------------------------------------

export interface ApplyOptions {
  readonly outDir: string;
  readonly variables: Readonly<Record<string, string>>;
  /** Only plan; report what would change. */
  readonly check?: boolean;
  readonly log?: (line: string) => void;
}

export interface ApplyResult {
  readonly changes: PlannedChange[];
  /** Nomad jobs that would change (check) or were registered (apply). */
  readonly jobsChanged: string[];
}

/**
 * Plans every resource and, unless checking, applies those that change, stack by stack in
 * dependency order. A resource whose plan shows no change is left alone, as Terraform would.
 */
export async function apply(options: ApplyOptions): Promise<ApplyResult> {
  const log = options.log ?? console.log;
  const resources = loadResources(options.outDir, options.variables);
  const changes: PlannedChange[] = [];
  let stack = "";
  for (const resource of resources) {
    if (resource.stack !== stack) {
      stack = resource.stack;
      log(`${stack}:`);
    }
    const planned = await planResource(resource);
    changes.push(planned);
    const verb = planned.change === "none" ? "no change" : options.check ? `would ${planned.change}` : planned.change;
    log(`  ${planned.address}: ${verb} (${planned.detail})`);
    if (!options.check && planned.change !== "none") await HANDLERS[resource.type].apply(resource);
  }
  const jobsChanged = changes.filter((c) => c.resource.type === "nomad_job" && c.change !== "none").map((c) => jobOf(c.resource).ID);
  const total = changes.filter((c) => c.change !== "none").length;
  log(
    options.check
      ? `check: ${total} of ${changes.length} resources would change (${jobsChanged.length} jobs${jobsChanged.length ? `: ${jobsChanged.join(", ")}` : ""})`
      : `apply: ${total} of ${changes.length} resources changed`,
  );
  return { changes, jobsChanged };
}

/** Deregisters and purges every job and deletes everything else applied, in reverse order. */
export async function destroy(options: Omit<ApplyOptions, "check">): Promise<string[]> {
  const log = options.log ?? console.log;
  // Values are not needed to delete; placeholders keep ${var.*} resolvable.
  const resources = loadResources(options.outDir, new Proxy({}, { get: () => "" }) as Record<string, string>);
  const lines: string[] = [];
  for (const resource of [...resources].reverse()) {
    const handler = HANDLERS[resource.type];
    const line = `${handler.address(resource)}: ${(await handler.destroy(resource)) ? "deleted" : "absent"}`;
    lines.push(line);
    log(`  ${line}`);
  }
  return lines;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (invokedDirectly) {
  const program = new Command()
    .name("apply")
    .description(
      "The lab's stand-in for `cdktf deploy`/`cdktf destroy`: the Terraform providers cannot be obtained on this " +
        "machine, so this applies the synthesized stacks (cdktf.out) through the Nomad, Consul and Vault HTTP APIs. " +
        `It handles ${SUPPORTED_TYPES.join(", ")}; any other resource type is an error. ` +
        "Variables come from TF_VAR_<name>; the tokens from NOMAD_TOKEN and VAULT_TOKEN, else the lab's state directory.",
    );
  program
    .command("apply")
    .description("plan every resource and apply those that change")
    .option("--check", "only plan; exit 1 if anything (a job, a config entry, a Vault resource) would change")
    .option("--out <dir>", "synthesized output directory", "cdktf.out")
    .action(async (opts: { check?: boolean; out: string }) => {
      const result = await apply({ outDir: opts.out, variables: variablesFromEnv(), check: opts.check ?? false });
      if (opts.check && result.changes.some((c) => c.change !== "none")) process.exitCode = 1;
    });
  program
    .command("destroy")
    .description("deregister (purge) every job, delete everything else applied")
    .option("--out <dir>", "synthesized output directory", "cdktf.out")
    .action(async (opts: { out: string }) => {
      await destroy({ outDir: opts.out, variables: {} });
    });
  program.parseAsync(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
