/**
 * Lab tools: finds, reuses or builds the pinned Nomad, Consul, Vault, Traefik and Terraform binaries.
 *
 *   npx tsx scripts/lab/tools.ts ensure [name...]   reuse a fitting binary on PATH, else the cache, else build
 *   npx tsx scripts/lab/tools.ts list               pinned versions and what is on PATH / in the cache
 *   npx tsx scripts/lab/tools.ts path <name>        print the binary `ensure` would use (never builds)
 *
 * Versions are pinned in scripts/lab/versions.json only. Each tool is built from its own Go module
 * scripts/lab/tools/<name> (which restates the program's replace/exclude directives) with
 * `go build -trimpath`, through the Go module proxy. Binaries go to a cache outside the checkout:
 * ${ORDERLAB_CACHE:-$HOME/.cache/orderlab}/tools/<name>/<version>/<name>.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";

const here = dirname(fileURLToPath(import.meta.url));

interface ToolPin {
  module: string;
  version: string;
  package: string;
  licence: string;
  versionArgs: string[];
  ldflags: string;
  note?: string;
  /** Why this tool is not usable; `ensure` without names skips it and says why. */
  disabled?: string;
}

interface ProviderPin {
  source: string;
  version: string;
  module: string;
  status: string;
  reason: string;
}

interface Versions {
  tools: Record<string, ToolPin>;
  providers: Record<string, ProviderPin>;
}

type Source = "PATH" | "cache" | "built";

interface Resolved {
  name: string;
  version: string;
  source: Source;
  path: string;
  seconds: number;
  bytes: number;
  reported: string;
}

function loadVersions(): Versions {
  const raw = JSON.parse(readFileSync(join(here, "versions.json"), "utf8")) as Versions;
  for (const [name, pin] of Object.entries(raw.tools)) {
    for (const key of ["module", "version", "package", "licence"] as const) {
      if (typeof pin[key] !== "string" || pin[key] === "") throw new Error(`versions.json: tools.${name}.${key} is missing`);
    }
    if (!/^v\d+\.\d+\.\d+$/.test(pin.version)) throw new Error(`versions.json: tools.${name}.version must look like v1.2.3`);
  }
  return raw;
}

export function cacheRoot(): string {
  return process.env.ORDERLAB_CACHE ?? join(homedir(), ".cache", "orderlab");
}

function cachedBinary(name: string, pin: ToolPin): string {
  return join(cacheRoot(), "tools", name, pin.version.replace(/^v/, ""), name);
}

function toolsModuleDir(name: string): string {
  return join(here, "tools", name);
}

function majorMinor(version: string): string | undefined {
  const m = /(\d+)\.(\d+)\.\d+/.exec(version);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/** Runs `<bin> version` and returns the first x.y.z it prints, or undefined if it does not run. */
function reportedVersion(bin: string, pin: ToolPin): string | undefined {
  // CHECKPOINT_DISABLE: HashiCorp CLIs (terraform version) would otherwise ask an outside update service.
  const r = spawnSync(bin, pin.versionArgs, { encoding: "utf8", timeout: 15_000, env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
  if (r.error || r.status !== 0) return undefined;
  const m = /v?(\d+\.\d+\.\d+)/.exec(`${r.stdout}\n${r.stderr}`);
  return m?.[1];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string[] {
  const found: string[] = [];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate) && !found.includes(candidate)) found.push(candidate);
  }
  return found;
}

/** A fingerprint of what the build depends on besides the version: the tools module and flags. */
function buildFingerprint(name: string, pin: ToolPin): string {
  const dir = toolsModuleDir(name);
  const h = createHash("sha256");
  for (const f of ["go.mod", "go.sum", "tools.go"]) h.update(f).update(readFileSync(join(dir, f)));
  h.update(pin.package).update(pin.ldflags);
  return h.digest("hex").slice(0, 16);
}

function stampPath(bin: string): string {
  return join(dirname(bin), "build.json");
}

function checkToolsModule(name: string, pin: ToolPin): void {
  const goMod = readFileSync(join(toolsModuleDir(name), "go.mod"), "utf8");
  const required = new RegExp(`^\\s*(?:require\\s+)?${pin.module.replace(/[.]/g, "\\.")}\\s+(\\S+)`, "m").exec(goMod);
  if (!required || required[1] !== pin.version) {
    throw new Error(
      `scripts/lab/tools/${name}/go.mod requires ${pin.module} ${required?.[1] ?? "(nothing)"}, but versions.json pins ${pin.version}`,
    );
  }
}

function findFitting(name: string, pin: ToolPin): Resolved | undefined {
  const want = majorMinor(pin.version);
  const cached = cachedBinary(name, pin);
  for (const bin of onPath(name)) {
    if (resolve(bin) === resolve(cached)) continue; // the cache is checked below
    const t0 = performance.now();
    const v = reportedVersion(bin, pin);
    if (v !== undefined && majorMinor(v) === want) {
      return { name, version: v, source: "PATH", path: bin, seconds: (performance.now() - t0) / 1000, bytes: statSync(bin).size, reported: v };
    }
  }
  if (isExecutable(cached) && existsSync(stampPath(cached))) {
    const t0 = performance.now();
    const stamp = JSON.parse(readFileSync(stampPath(cached), "utf8")) as { fingerprint?: string };
    const v = reportedVersion(cached, pin);
    if (stamp.fingerprint === buildFingerprint(name, pin) && v !== undefined && majorMinor(v) === want) {
      return { name, version: v, source: "cache", path: cached, seconds: (performance.now() - t0) / 1000, bytes: statSync(cached).size, reported: v };
    }
  }
  return undefined;
}

/**
 * The configured GOPROXY without its `direct` fallback: on a 404 from the proxy the go command
 * would otherwise try to fetch the repository from its vendor site, which this lab must not do.
 */
function proxyOnly(): string {
  const configured = process.env.GOPROXY ?? spawnSync("go", ["env", "GOPROXY"], { encoding: "utf8" }).stdout.trim();
  const proxies = configured.split(/[,|]/).filter((p) => p !== "" && p !== "direct" && p !== "off");
  return proxies.length > 0 ? proxies.join(",") : "https://proxy.golang.org";
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const sink = (chunk: Buffer) => {
      appendFileSync(logFile, chunk);
      process.stderr.write(chunk);
    };
    child.stdout.on("data", sink);
    child.stderr.on("data", sink);
    child.on("error", reject);
    child.on("close", (code) => resolvePromise(code ?? 1));
  });
}

async function build(name: string, pin: ToolPin): Promise<Resolved> {
  checkToolsModule(name, pin);
  const bin = cachedBinary(name, pin);
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.building-${process.pid}`;
  const logFile = join(dirname(bin), "build.log");
  writeFileSync(logFile, "");
  const goflags = [process.env.GOFLAGS ?? "", "-mod=readonly", "-p=2"].join(" ").trim();
  const env = { ...process.env, GOFLAGS: goflags, GOPROXY: proxyOnly(), CHECKPOINT_DISABLE: "1" };
  const args = ["-n", "19", "go", "build", "-trimpath"];
  if (pin.ldflags) args.push(`-ldflags=${pin.ldflags}`);
  args.push("-o", tmp, pin.package);
  console.log(`[${name}] building ${pin.module}@${pin.version} (nice go build, log ${logFile}) ...`);
  const t0 = performance.now();
  const code = await run("nice", args, toolsModuleDir(name), env, logFile);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`[${name}] go build exited ${code} after ${seconds.toFixed(1)} s; see ${logFile}`);
  }
  renameSync(tmp, bin);
  const v = reportedVersion(bin, pin);
  if (v === undefined || majorMinor(v) !== majorMinor(pin.version)) {
    throw new Error(`[${name}] built binary reports version ${v ?? "(none)"}, expected ${pin.version}`);
  }
  const goVersion = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).stdout.trim();
  writeFileSync(
    stampPath(bin),
    `${JSON.stringify({ module: pin.module, version: pin.version, fingerprint: buildFingerprint(name, pin), goVersion, seconds, builtAt: new Date().toISOString() }, null, 2)}\n`,
  );
  return { name, version: v, source: "built", path: bin, seconds, bytes: statSync(bin).size, reported: v };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function recordTimings(results: Resolved[]): void {
  const file = join(cacheRoot(), "tools", "timings.json");
  mkdirSync(dirname(file), { recursive: true });
  let history: unknown[] = [];
  if (existsSync(file)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
      if (Array.isArray(parsed)) history = parsed;
    } catch {
      history = [];
    }
  }
  const at = new Date().toISOString();
  for (const r of results) history.push({ at, name: r.name, version: r.version, source: r.source, seconds: Number(r.seconds.toFixed(2)), bytes: r.bytes, path: r.path });
  writeFileSync(file, `${JSON.stringify(history.slice(-200), null, 2)}\n`);
}

function selected(versions: Versions, names: string[]): [string, ToolPin][] {
  const all = Object.entries(versions.tools);
  if (names.length === 0) {
    for (const [name, pin] of all) if (pin.disabled) console.log(`${name.padEnd(8)} ${pin.version.padEnd(8)} skipped: ${pin.disabled}`);
    return all.filter(([, pin]) => !pin.disabled);
  }
  return names.map((n) => {
    const pin = versions.tools[n];
    if (!pin) throw new Error(`unknown tool '${n}' (known: ${Object.keys(versions.tools).join(", ")})`);
    return [n, pin];
  });
}

async function ensure(names: string[]): Promise<void> {
  const versions = loadVersions();
  const results: Resolved[] = [];
  const failures: string[] = [];
  for (const [name, pin] of selected(versions, names)) {
    try {
      const found = findFitting(name, pin) ?? (await build(name, pin));
      results.push(found);
      const why = found.source === "PATH" ? `reused ${found.path} from PATH (reports ${found.reported}, pinned ${pin.version})` : found.path;
      console.log(`${name.padEnd(8)} ${pin.version.padEnd(8)} ${found.source.padEnd(6)} ${found.seconds.toFixed(1).padStart(7)} s ${mib(found.bytes).padStart(10)}  ${why}`);
    } catch (err) {
      failures.push(name);
      console.error(err instanceof Error ? err.message : String(err));
    }
  }
  if (names.length === 0) {
    for (const [name, p] of Object.entries(versions.providers)) {
      if (p.status !== "built") console.log(`provider ${name} ${p.version}: ${p.status}: ${p.reason}`);
    }
  }
  recordTimings(results);
  if (failures.length > 0) {
    console.error(`failed: ${failures.join(", ")}`);
    process.exitCode = 1;
  }
}

function list(): void {
  const versions = loadVersions();
  for (const [name, pin] of Object.entries(versions.tools)) {
    const cached = cachedBinary(name, pin);
    const cacheState = isExecutable(cached) ? `cached ${mib(statSync(cached).size)}` : "not cached";
    const path = onPath(name).filter((p) => resolve(p) !== resolve(cached));
    console.log(`${name.padEnd(8)} ${pin.version.padEnd(8)} ${pin.licence.padEnd(8)} ${pin.module}  ${cacheState} (${cached})${path.length ? `  on PATH: ${path.join(", ")}` : ""}${pin.disabled ? `  DISABLED: ${pin.disabled}` : ""}`);
  }
  for (const [name, p] of Object.entries(versions.providers)) console.log(`provider ${name} ${p.version} (${p.source}): ${p.status}`);
}

function pathOf(name: string): void {
  const versions = loadVersions();
  const pin = versions.tools[name];
  if (!pin) throw new Error(`unknown tool '${name}'`);
  const found = findFitting(name, pin);
  if (!found) {
    console.error(`${name} ${pin.version}: no fitting binary on PATH or in the cache; run: npx tsx scripts/lab/tools.ts ensure ${name}`);
    process.exitCode = 1;
    return;
  }
  console.log(found.path);
}

/** The binary `ensure` would use for a tool, without building; throws when there is none. */
export function toolPath(name: string): string {
  const pin = loadVersions().tools[name];
  if (!pin) throw new Error(`unknown tool '${name}'`);
  const found = findFitting(name, pin);
  if (!found) throw new Error(`${name} ${pin.version}: no fitting binary; run: npx tsx scripts/lab/tools.ts ensure ${name}`);
  return found.path;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

const program = new Command()
  .name("tools")
  .description("Find, reuse or build the lab's pinned tools (Nomad, Consul, Vault, Traefik, Terraform)");
program.command("ensure").argument("[names...]", "tools to ensure (default: all)").action(async (names: string[]) => ensure(names));
program.command("list").action(() => list());
program.command("path").argument("<name>").action((name: string) => pathOf(name));

if (invokedDirectly) {
  program.parseAsync(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
