/**
 * The lab's Consul, Vault and Nomad dev agents on 127.0.0.1: where their state lives, how they
 * are started (detached, with pid files) and stopped, the HTTP clients used to talk to them, and
 * the clean-up of every process the lab started.
 *
 * State: ${ORDERLAB_CACHE:-~/.cache/orderlab}/lab/ (outside the checkout):
 *   consul/ nomad/            agent data (Nomad's allocation directories under nomad/alloc)
 *   logs/<agent>.log          mode 600 (Vault's dev server prints its root token at start)
 *   <agent>.pid
 *   nomad.hcl                 the Nomad agent's configuration (nomadConfig below)
 *   nomad-token               Nomad's bootstrap (management) token, mode 600
 *   vault-token               the Vault dev server's root token, mode 600 (and .vault-token,
 *                             written by the server itself: HOME is this directory)
 *   secrets.json              the lab's generated RabbitMQ/Grafana passwords, mode 600
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot } from "./tools.js";

export const NOMAD_ADDR = "http://127.0.0.1:4646";
export const CONSUL_ADDR = "http://127.0.0.1:8500";
export const VAULT_ADDR = "http://127.0.0.1:8200";

/** Audience of the identities Nomad signs for Vault; the JWT roles the stacks declare are bound to it. */
export const VAULT_AUDIENCE = "vault.io";

/** Marker in the environment of every process the lab starts (and, through Nomad, of its tasks). */
const STATE_ENV = "ORDERLAB_LAB_STATE";

export function stateDir(): string {
  return join(cacheRoot(), "lab");
}

export const paths = {
  get logs() {
    return join(stateDir(), "logs");
  },
  get nomadData() {
    return join(stateDir(), "nomad");
  },
  get allocDir() {
    return join(stateDir(), "nomad", "alloc");
  },
  get consulData() {
    return join(stateDir(), "consul");
  },
  get nomadToken() {
    return join(stateDir(), "nomad-token");
  },
  get vaultToken() {
    return join(stateDir(), "vault-token");
  },
  get secrets() {
    return join(stateDir(), "secrets.json");
  },
  pidFile(agent: Agent) {
    return join(stateDir(), `${agent}.pid`);
  },
};

export type Agent = "consul" | "vault" | "nomad";

/** The endpoint that answers 200 once an agent is ready (Consul: a leader; Vault: unsealed). */
const HEALTH: Record<Agent, string> = {
  consul: `${CONSUL_ADDR}/v1/status/leader`,
  vault: `${VAULT_ADDR}/v1/sys/health`,
  nomad: `${NOMAD_ADDR}/v1/agent/health`,
};

/** Nomad's client config: loopback only, raw_exec on, ACLs on, nothing that calls out. */
export function nomadConfig(): string {
  return `# Written by scripts/lab/agents.ts
bind_addr            = "127.0.0.1"
data_dir             = "${paths.nomadData}"
# No traffic off the machine: no update check (checkpoint-api.hashicorp.com).
disable_update_check = true

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

# Every API call needs a token: the lab's own calls use the bootstrap token in nomad-token.
acl {
  enabled = true
}

client {
  enabled           = true
  network_interface = "lo"
  alloc_dir         = "${paths.allocDir}"
  state_dir         = "${join(paths.nomadData, "client")}"

  options = {
    # The cloud fingerprinters query 169.254.169.254; keep them off.
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

consul {
  address = "127.0.0.1:8500"
}

# Workload identity: a task with a vault block logs in to Vault's JWT backend (jwt-nomad, which
# the platform stack declares against this agent's JWKS) with an identity for this audience.
# The agent itself holds no Vault token.
vault {
  enabled = true
  address = "${VAULT_ADDR}"

  default_identity {
    aud = ["${VAULT_AUDIENCE}"]
    ttl = "1h"
  }
}
`;
}

function readPid(agent: Agent): number | undefined {
  const file = paths.pidFile(agent);
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  return Number.isInteger(pid) ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a running agent the lab started, if any. */
export function agentPid(agent: Agent): number | undefined {
  const pid = readPid(agent);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Whether an agent answers on its address, whoever started it. */
export const agentAnswers = (agent: Agent): Promise<boolean> => answers(HEALTH[agent]);

/** Whether the lab's own agent runs and answers. */
export async function agentRuns(agent: Agent): Promise<boolean> {
  return agentPid(agent) !== undefined && (await agentAnswers(agent));
}

export async function answers(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(500);
  }
  throw new Error(`${what}: not reached after ${Math.round(timeoutMs / 1000)} s`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startDetached(agent: Agent, bin: string, args: string[], extraEnv: Record<string, string> = {}): number {
  mkdirSync(paths.logs, { recursive: true });
  const log = openSync(join(paths.logs, `${agent}.log`), "a", 0o600);
  const child = spawn(bin, args, {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, ...extraEnv, [STATE_ENV]: stateDir(), CHECKPOINT_DISABLE: "1" },
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`${agent} did not start (${bin})`);
  writeFileSync(paths.pidFile(agent), `${child.pid}\n`);
  return child.pid;
}

/** Starts Consul in dev mode on 127.0.0.1 unless the lab's Consul already runs. */
export async function startConsul(bin: string): Promise<"started" | "running"> {
  if (await agentRuns("consul")) return "running";
  if (await agentAnswers("consul")) {
    throw new Error(`a Consul the lab did not start answers on ${CONSUL_ADDR}; stop it first`);
  }
  mkdirSync(paths.consulData, { recursive: true });
  startDetached("consul", bin, [
    "agent",
    "-dev",
    "-bind",
    "127.0.0.1",
    "-client",
    "127.0.0.1",
    "-data-dir",
    paths.consulData,
    "-hcl",
    "disable_update_check = true",
  ]);
  await waitUntil("Consul leader", 60_000, async () => {
    try {
      const r = await fetch(`${CONSUL_ADDR}/v1/status/leader`);
      return r.ok && (await r.text()).length > 4;
    } catch {
      return false;
    }
  });
  return "started";
}

/**
 * Starts Vault's dev server on 127.0.0.1 (in memory, unsealed) unless the lab's Vault already
 * runs. Its root token is generated here and kept in a mode-600 file, never printed.
 */
export async function startVault(bin: string): Promise<"started" | "running"> {
  if (await agentRuns("vault")) return "running";
  if (await agentAnswers("vault")) throw new Error(`a Vault the lab did not start answers on ${VAULT_ADDR}; stop it first`);
  // Vault refuses custom token IDs with its own prefixes (hvs., s.).
  const token = `orderlab-${randomBytes(18).toString("base64url")}`;
  writeFileSync(paths.vaultToken, `${token}\n`, { mode: 0o600 });
  startDetached("vault", bin, ["server", "-dev", `-dev-listen-address=${VAULT_ADDR.replace("http://", "")}`], {
    VAULT_DEV_ROOT_TOKEN_ID: token,
    // The dev server writes the root token to ~/.vault-token unless told otherwise.
    HOME: stateDir(),
  });
  await waitUntil("Vault unsealed", 60_000, () => agentAnswers("vault"));
  return "started";
}

/** Starts Nomad in dev mode (server and client) unless the lab's Nomad already runs; bootstraps ACLs. */
export async function startNomad(bin: string): Promise<"started" | "running"> {
  if (await agentRuns("nomad")) return "running";
  if (await agentAnswers("nomad")) {
    throw new Error(`a Nomad the lab did not start answers on ${NOMAD_ADDR}; stop it first`);
  }
  // Dev mode keeps the server's state in memory: every start is a fresh cluster.
  rmSync(paths.nomadData, { recursive: true, force: true });
  mkdirSync(paths.allocDir, { recursive: true });
  const config = join(stateDir(), "nomad.hcl");
  writeFileSync(config, nomadConfig());
  startDetached("nomad", bin, ["agent", "-dev", "-bind", "127.0.0.1", "-config", config]);
  await waitUntil("Nomad leader", 90_000, () => answers(`${NOMAD_ADDR}/v1/status/leader`));
  await bootstrapAcl();
  await waitUntil("Nomad client node ready", 90_000, async () => {
    const nodes = await nomad<{ Status: string; Drivers?: Record<string, { Healthy: boolean }> }[]>("GET", "/v1/nodes?resources=false").catch(() => []);
    return nodes.some((n) => n.Status === "ready");
  });
  return "started";
}

async function bootstrapAcl(): Promise<void> {
  // The ACL subsystem needs a moment after leadership before it takes the bootstrap call.
  let lastError = "";
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const response = await fetch(`${NOMAD_ADDR}/v1/acl/bootstrap`, { method: "POST" }).catch((e: Error) => e);
    if (!(response instanceof Error)) {
      const text = await response.text();
      if (response.ok) {
        const { SecretID } = JSON.parse(text) as { SecretID: string };
        writeFileSync(paths.nomadToken, `${SecretID}\n`, { mode: 0o600 });
        return;
      }
      lastError = `${response.status} ${text.trim()}`;
    } else {
      lastError = response.message;
    }
    await sleep(500);
  }
  throw new Error(`Nomad ACL bootstrap failed: ${lastError}`);
}

/** The management token of the running lab Nomad. */
export function nomadToken(): string | undefined {
  return existsSync(paths.nomadToken) ? readFileSync(paths.nomadToken, "utf8").trim() : undefined;
}

export class HttpError extends Error {
  public constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(base: string, headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new HttpError(response.status, `${method} ${base}${path} answered ${response.status}: ${text.trim()}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** Calls Nomad's HTTP API with the lab's token (NOMAD_TOKEN wins if set). */
export function nomad<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const token = process.env.NOMAD_TOKEN ?? nomadToken();
  return call<T>(NOMAD_ADDR, token ? { "X-Nomad-Token": token } : {}, method, path, body);
}

/** The root token of the running lab Vault. */
export function vaultToken(): string | undefined {
  return existsSync(paths.vaultToken) ? readFileSync(paths.vaultToken, "utf8").trim() : undefined;
}

/** Calls Vault's HTTP API with the lab's root token (VAULT_TOKEN wins if set). */
export function vault<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const token = process.env.VAULT_TOKEN ?? vaultToken();
  return call<T>(VAULT_ADDR, token ? { "X-Vault-Token": token } : {}, method, path, body);
}

/** Calls Consul's HTTP API. */
export function consul<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  return call<T>(CONSUL_ADDR, {}, method, path, body);
}

/** Stops an agent the lab started: SIGINT, then SIGKILL after the grace period. */
export async function stopAgent(agent: Agent, graceMs = 20_000): Promise<boolean> {
  const pid = agentPid(agent);
  rmSync(paths.pidFile(agent), { force: true });
  if (pid === undefined) return false;
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  return true;
}

export interface LabProcess {
  readonly pid: number;
  readonly command: string;
}

/**
 * Every process the lab started and that still runs: the agents, Nomad's executors and log
 * collectors, and the tasks with whatever they spawned (the broker's beam and epmd, ...). They
 * are recognised by the lab's state directory in their environment or command line, so nothing
 * another user started is ever touched.
 */
export function labProcesses(): LabProcess[] {
  const marker = stateDir();
  const found: LabProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      const ours =
        environ.includes(`\0${STATE_ENV}=${marker}\0`) ||
        environ.startsWith(`${STATE_ENV}=${marker}\0`) ||
        environ.includes(`NOMAD_ALLOC_DIR=${marker}/`) ||
        cmdline.includes(`${marker}/`);
      if (!ours) continue;
      // Skip zombies and this very command's own ancestors (npm, tsx started from a lab shell).
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (/\) Z /.test(stat)) continue;
      let command = cmdline;
      if (command === "") command = readlinkSync(`/proc/${pid}/exe`);
      found.push({ pid, command: command.slice(0, 160) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found.filter((p) => !ancestors().has(p.pid));
}

function ancestors(): Set<number> {
  const set = new Set<number>();
  let pid = process.ppid;
  while (pid > 1 && !set.has(pid)) {
    set.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return set;
}

/** Kills what `labProcesses` finds: SIGTERM, then SIGKILL. Returns what was found. */
export async function killLabProcesses(graceMs = 10_000): Promise<LabProcess[]> {
  const found = labProcesses();
  for (const p of found) {
    try {
      process.kill(p.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (found.some((p) => isAlive(p.pid)) && Date.now() < deadline) await sleep(200);
  for (const p of found) {
    if (isAlive(p.pid)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  return found;
}
