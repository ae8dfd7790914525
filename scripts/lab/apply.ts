/**
 * The lab's stand-in for `cdktf deploy` / `cdktf destroy`.
 *
 * The Terraform providers the stacks are written for (hashicorp/nomad 2.5.2, hashicorp/consul
 * 2.22.1) cannot be obtained on the lab machine (docs/lab-tools.md), so Terraform cannot apply
 * the synthesized stacks here. This applier reads the same synthesized configuration
 * (`cdktf.out/stacks/<stack>/cdk.tf.json`) and applies the resource types the lab uses through
 * the agents' HTTP APIs:
 *
 *   nomad_job                                jobspec (JSON) -> plan (Diff) -> POST /v1/jobs
 *   nomad_variable                           PUT /v1/var/<path>
 *   consul_config_entry(_service_intentions) PUT /v1/config
 *
 * Any other resource type is refused with its name (the lab target declares no Vault resource;
 * the cluster target's Vault resources are refused here). Stacks are applied in the dependency
 * order of cdktf.out/manifest.json and destroyed in reverse. `${var.NAME}` is substituted from
 * TF_VAR_NAME, as Terraform would; values are never printed.
 *
 *   npx tsx scripts/lab/apply.ts apply [--check] [--out cdktf.out]
 *   npx tsx scripts/lab/apply.ts destroy [--out cdktf.out]
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { HttpError, consul, nomad } from "./agents.js";

/** Resource types this applier knows. */
export const SUPPORTED_TYPES = [
  "nomad_job",
  "nomad_variable",
  "consul_config_entry",
  "consul_config_entry_service_intentions",
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

/**
 * Terraform's reading of a string in cdk.tf.json: `$${` and `%%{` are escapes for a literal
 * `${` and `%{`, and `${var.NAME}` is the variable's value. Any other interpolation is refused,
 * since only Terraform could evaluate it.
 */
export function terraformString(text: string, variables: Readonly<Record<string, string>>, where: string): string {
  let out = "";
  for (let i = 0; i < text.length; i += 1) {
    const two = text.slice(i, i + 3);
    if (two === "$${" || two === "%%{") {
      out += two.slice(1);
      i += 2;
      continue;
    }
    const pair = text.slice(i, i + 2);
    if (pair === "${") {
      const end = text.indexOf("}", i);
      const expression = end < 0 ? text.slice(i) : text.slice(i + 2, end);
      const variable = /^var\.([A-Za-z0-9_]+)$/.exec(expression);
      if (!variable) throw new Error(`${where}: cannot evaluate the Terraform expression \${${expression}} without Terraform`);
      const value = variables[variable[1]!];
      if (value === undefined) throw new Error(`${where}: variable "${variable[1]}" has no value; set TF_VAR_${variable[1]}`);
      out += value;
      i = end;
      continue;
    }
    if (pair === "%{") throw new Error(`${where}: Terraform template directives (%{...}) are not supported`);
    out += text[i];
  }
  return out;
}

/** Resolves every string inside a value. */
function resolveValue(value: unknown, variables: Readonly<Record<string, string>>, where: string): unknown {
  if (typeof value === "string") return terraformString(value, variables, where);
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, variables, where));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "//")
        .map(([key, v]) => [key, resolveValue(v, variables, where)]),
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

/** Every resource of the synthesized stacks, resolved; refuses unknown types and missing variables. */
export function loadResources(outDir: string, variables: Readonly<Record<string, string>>): StackResource[] {
  const resources: StackResource[] = [];
  const unsupported: string[] = [];
  for (const { name: stack, file } of stacksInOrder(outDir)) {
    const doc = JSON.parse(readFileSync(file, "utf8")) as StackDocument;
    for (const variable of Object.keys(doc.variable ?? {})) {
      if (variables[variable] === undefined) throw new Error(`stack ${stack}: variable "${variable}" has no value; set TF_VAR_${variable}`);
    }
    for (const [type, byName] of Object.entries(doc.resource ?? {})) {
      if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) {
        unsupported.push(`${type} (${stack}: ${Object.keys(byName).join(", ")})`);
        continue;
      }
      for (const [name, raw] of Object.entries(byName)) {
        const where = `${stack} ${type}.${name}`;
        resources.push({ stack, type: type as SupportedType, name, attributes: resolveValue(raw, variables, where) as Attributes });
      }
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

/** What applying a resource would change, asked of the agents themselves. */
export async function planResource(resource: StackResource): Promise<PlannedChange> {
  const base = { resource };
  if (resource.type === "nomad_job") {
    const job = jobOf(resource);
    const address = `nomad job ${job.ID}`;
    const plan = await nomad<{ Diff?: { Type: string; Fields?: unknown[]; Objects?: unknown[]; TaskGroups?: unknown[] } }>(
      "POST",
      `/v1/job/${encodeURIComponent(job.ID)}/plan`,
      { Job: job, Diff: true },
    );
    const type = plan.Diff?.Type ?? "None";
    const change: Change = type === "Added" ? "create" : type === "None" ? "none" : "update";
    return { ...base, address, change, detail: `Nomad plan diff: ${type}` };
  }
  if (resource.type === "nomad_variable") {
    const v = variableOf(resource);
    const address = `nomad variable ${v.Path}`;
    const current = await getOrUndefined(() =>
      nomad<{ Items: Record<string, string> }>("GET", `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`),
    );
    if (!current) return { ...base, address, change: "create", detail: "absent" };
    const same = sameJson(sortKeys(current.Items), sortKeys(v.Items));
    return { ...base, address, change: same ? "none" : "update", detail: same ? "items equal" : "items differ" };
  }
  const entry = configEntryOf(resource);
  const address = `consul config ${entry.Kind}/${entry.Name}`;
  const current = await getOrUndefined(() =>
    consul<Attributes>("GET", `/v1/config/${entry.Kind}/${encodeURIComponent(entry.Name)}`),
  );
  if (!current) return { ...base, address, change: "create", detail: "absent" };
  const same = Object.entries(entry).every(([key, value]) => sameJson(normalizeEntry(key, current[key]), normalizeEntry(key, value)));
  return { ...base, address, change: same ? "none" : "update", detail: same ? "entry equal" : "entry differs" };
}

function sortKeys(items: Record<string, string>): Record<string, string> {
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

async function applyResource(resource: StackResource): Promise<void> {
  if (resource.type === "nomad_job") {
    await nomad("POST", "/v1/jobs", { Job: jobOf(resource) });
  } else if (resource.type === "nomad_variable") {
    const v = variableOf(resource);
    await nomad("PUT", `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`, v);
  } else {
    await consul("PUT", "/v1/config", configEntryOf(resource));
  }
}

async function destroyResource(resource: StackResource): Promise<string> {
  if (resource.type === "nomad_job") {
    const job = jobOf(resource);
    const found = await getOrUndefined(() => nomad("GET", `/v1/job/${encodeURIComponent(job.ID)}`));
    if (!found) return `nomad job ${job.ID}: not registered`;
    await nomad("DELETE", `/v1/job/${encodeURIComponent(job.ID)}?purge=true`);
    return `nomad job ${job.ID}: deregistered and purged`;
  }
  if (resource.type === "nomad_variable") {
    const v = variableOf(resource);
    const found = await getOrUndefined(() => nomad("GET", `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`));
    if (!found) return `nomad variable ${v.Path}: absent`;
    await nomad("DELETE", `/v1/var/${v.Path}?namespace=${encodeURIComponent(v.Namespace)}`);
    return `nomad variable ${v.Path}: deleted`;
  }
  const entry = configEntryOf(resource);
  const found = await getOrUndefined(() => consul("GET", `/v1/config/${entry.Kind}/${encodeURIComponent(entry.Name)}`));
  if (!found) return `consul config ${entry.Kind}/${entry.Name}: absent`;
  await consul("DELETE", `/v1/config/${entry.Kind}/${encodeURIComponent(entry.Name)}`);
  return `consul config ${entry.Kind}/${entry.Name}: deleted`;
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
    if (!options.check && planned.change !== "none") await applyResource(resource);
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

/** Deregisters and purges every job, deletes every config entry and variable, in reverse order. */
export async function destroy(options: Omit<ApplyOptions, "check">): Promise<string[]> {
  const log = options.log ?? console.log;
  // Values are not needed to delete; placeholders keep ${var.*} resolvable.
  const resources = loadResources(options.outDir, new Proxy({}, { get: () => "" }) as Record<string, string>);
  const lines: string[] = [];
  for (const resource of [...resources].reverse()) {
    const line = await destroyResource(resource);
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
        "machine, so this applies the synthesized stacks (cdktf.out) through the Nomad and Consul HTTP APIs. " +
        `It handles ${SUPPORTED_TYPES.join(", ")}; any other resource type is an error. ` +
        "Variables come from TF_VAR_<name>; Nomad's token from NOMAD_TOKEN or the lab's state directory.",
    );
  program
    .command("apply")
    .description("plan every resource and apply those that change")
    .option("--check", "only plan; exit 1 if anything (a job, a variable, a config entry) would change")
    .option("--out <dir>", "synthesized output directory", "cdktf.out")
    .action(async (opts: { check?: boolean; out: string }) => {
      const result = await apply({ outDir: opts.out, variables: variablesFromEnv(), check: opts.check ?? false });
      if (opts.check && result.changes.some((c) => c.change !== "none")) process.exitCode = 1;
    });
  program
    .command("destroy")
    .description("deregister (purge) every job, delete every config entry and variable")
    .option("--out <dir>", "synthesized output directory", "cdktf.out")
    .action(async (opts: { out: string }) => {
      await destroy({ outDir: opts.out, variables: {} });
    });
  program.parseAsync(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
