/**
 * The lab on this machine: Consul, Vault and Nomad dev agents on 127.0.0.1 and the lab target's stacks
 * applied to them.
 *
 *   npm run lab          (up)      tools, agents, synth, passwords, apply, wait until healthy
 *   npm run lab:status             agents, jobs, allocation and check health
 *   npm run lab:down               destroy everything applied, stop the agents and every
 *                                  process the lab started
 *
 * `up` is idempotent: running agents are reused, the passwords are generated once (mode 600,
 * outside the checkout) and the applier leaves unchanged resources alone. State lives in
 * ${ORDERLAB_CACHE:-~/.cache/orderlab}/lab (scripts/lab/agents.ts). Applying goes through
 * scripts/lab/apply.ts, the lab's stand-in for `cdktf deploy` (the Terraform providers cannot
 * be obtained here; docs/lab.md).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { LAB_PORTS, labSettings } from "../../stacks/config.js";
import {
  CONSUL_ADDR,
  NOMAD_ADDR,
  VAULT_ADDR,
  agentAnswers,
  agentPid,
  agentRuns,
  consul,
  killLabProcesses,
  labProcesses,
  nomad,
  paths,
  sleep,
  startConsul,
  startNomad,
  startVault,
  stateDir,
  stopAgent,
} from "./agents.js";
import { apply, destroy, loadResources, stacksInOrder } from "./apply.js";
import { toolPath } from "./tools.js";

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OUT_DIR = join(REPO_DIR, "cdktf.out");

const settings = () => labSettings({ ORDERLAB_REPO_DIR: REPO_DIR });

/** Public addresses of the running lab. */
export function labUrls(): Record<string, string> {
  const s = settings();
  return {
    traefik: s.traefik.publicUrl,
    nomadUi: `${NOMAD_ADDR}/ui/`,
    consulUi: `${CONSUL_ADDR}/ui/`,
    vault: `${VAULT_ADDR}/v1/sys/health`,
    rabbitmqManagement: `http://127.0.0.1:${s.rabbitmq.managementPort}/`,
    prometheus: `${s.traefik.publicUrl}/prometheus/`,
  };
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync(command, args, { cwd: REPO_DIR, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
}

/** `tools.ts ensure`: reuse or build Nomad, Consul, Vault, Traefik and Terraform. */
export function ensureTools(): number {
  const t0 = performance.now();
  run("npx", ["--no-install", "tsx", "scripts/lab/tools.ts", "ensure"]);
  return performance.now() - t0;
}

/** Synthesizes the lab target into cdktf.out (what `cdktf synth` runs: the app in cdktf.json). */
export function synthLab(): void {
  run("npx", ["--no-install", "tsx", "main.ts"], {
    ORDERLAB_TARGET: "lab",
    ORDERLAB_REPO_DIR: REPO_DIR,
    ORDERLAB_TRAEFIK_BIN: toolPath("traefik"),
    CDKTF_OUTDIR: OUT_DIR,
  });
}

/** Variables the synthesized stacks declare. */
function declaredVariables(): string[] {
  const names = new Set<string>();
  for (const { file } of stacksInOrder(OUT_DIR)) {
    const doc = JSON.parse(readFileSync(file, "utf8")) as { variable?: Record<string, unknown> };
    for (const name of Object.keys(doc.variable ?? {})) names.add(name);
  }
  return [...names].sort();
}

/**
 * The lab's passwords: one random value per declared variable, generated on first use and kept in
 * a mode-600 file in the state directory (never in the checkout, never printed).
 */
export function labSecrets(): Record<string, string> {
  const file = paths.secrets;
  const known = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  let added = 0;
  for (const name of declaredVariables()) {
    if (known[name] === undefined) {
      known[name] = randomBytes(18).toString("base64url");
      added += 1;
    }
  }
  if (added > 0 || !existsSync(file)) writeFileSync(file, `${JSON.stringify(known, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return known;
}

interface JobStub {
  ID: string;
  Type: string;
  Status: string;
  ParameterizedJob?: boolean;
}

interface Deployment {
  ID: string;
  Status: string;
  StatusDescription: string;
}

interface Allocation {
  ID: string;
  JobID: string;
  TaskGroup: string;
  ClientStatus: string;
  DesiredStatus: string;
  DeploymentStatus?: { Healthy?: boolean };
  TaskStates?: Record<string, { State: string; Restarts: number; Failed: boolean }>;
}

interface Check {
  ServiceName: string;
  Status: string;
  Name: string;
}

/** The long-running jobs the lab registers (service jobs; the Locust job is a parameterized batch). */
export async function serviceJobs(): Promise<string[]> {
  const jobs = await nomad<JobStub[]>("GET", "/v1/jobs");
  return jobs.filter((j) => j.Type === "service").map((j) => j.ID).sort();
}

/** Why the lab is not healthy yet, or an empty list when it is. */
export async function unhealthy(): Promise<string[]> {
  const problems: string[] = [];
  for (const id of await serviceJobs()) {
    const deployment = await nomad<Deployment | null>("GET", `/v1/job/${id}/deployment`);
    if (!deployment) problems.push(`${id}: no deployment`);
    else if (deployment.Status === "failed") throw new Error(`${id}: deployment failed: ${deployment.StatusDescription}`);
    else if (deployment.Status !== "successful") problems.push(`${id}: deployment ${deployment.Status}`);
    const allocs = await nomad<Allocation[]>("GET", `/v1/job/${id}/allocations`);
    const running = allocs.filter((a) => a.DesiredStatus === "run");
    if (!running.some((a) => a.ClientStatus === "running")) problems.push(`${id}: no running allocation`);
  }
  const checks = await consul<Check[]>("GET", "/v1/health/state/any");
  for (const c of checks.filter((c) => c.ServiceName !== "" && c.Status !== "passing")) {
    problems.push(`consul check ${c.Name} of ${c.ServiceName}: ${c.Status}`);
  }
  return problems;
}

export async function waitHealthy(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    last = await unhealthy();
    if (last.length === 0) return;
    await sleep(1000);
  }
  throw new Error(`the lab is not healthy after ${seconds(timeoutMs)} s:\n  ${last.join("\n  ")}`);
}

export interface UpTimings {
  toolsEnsureSeconds: number;
  agentsSeconds: number;
  synthSeconds: number;
  applySeconds: number;
  upToHealthySeconds: number;
}

export async function up(options: { log?: (line: string) => void } = {}): Promise<UpTimings> {
  const log = options.log ?? console.log;
  const t0 = performance.now();
  log("lab: tools ensure");
  const toolsMs = ensureTools();

  const tAgents = performance.now();
  if ((await agentRuns("nomad")) && !(await agentRuns("vault"))) {
    // The dev Vault keeps nothing: a new one would not know the tokens Nomad's tasks hold.
    log("lab: Nomad runs but its Vault is gone, so every task's Vault token is void; starting the lab afresh");
    await down({ log });
  }
  const consulState = await startConsul(toolPath("consul"));
  const vaultState = await startVault(toolPath("vault"));
  const nomadState = await startNomad(toolPath("nomad"));
  const agentsMs = performance.now() - tAgents;
  log(`lab: consul ${consulState}, vault ${vaultState}, nomad ${nomadState} (${seconds(agentsMs)} s); state in ${stateDir()}`);

  const tSynth = performance.now();
  synthLab();
  const synthMs = performance.now() - tSynth;
  const variables = labSecrets();
  log(`lab: synthesized the lab target to ${OUT_DIR} (${seconds(synthMs)} s); passwords in ${paths.secrets} (mode 600)`);

  const tApply = performance.now();
  log("lab: applying (scripts/lab/apply.ts, the lab's stand-in for cdktf deploy)");
  await apply({ outDir: OUT_DIR, variables, log: (line) => log(`  ${line}`) });
  const applyMs = performance.now() - tApply;

  log("lab: waiting until every deployment is successful and every Consul check passes");
  await waitHealthy(300_000);
  const timings: UpTimings = {
    toolsEnsureSeconds: seconds(toolsMs),
    agentsSeconds: seconds(agentsMs),
    synthSeconds: seconds(synthMs),
    applySeconds: seconds(applyMs),
    upToHealthySeconds: seconds(performance.now() - t0),
  };
  writeFileSync(join(stateDir(), "last-up.json"), `${JSON.stringify({ at: new Date().toISOString(), ...timings }, null, 2)}\n`);

  log("");
  log("lab is up:");
  const urls = labUrls();
  log(`  Traefik (public entrypoint)  ${urls.traefik}   routes: /order /payment /notify /prometheus`);
  log(`  Prometheus                   ${urls.prometheus}`);
  log(`  Nomad UI                     ${urls.nomadUi}   (ACLs on: token in ${paths.nomadToken})`);
  log(`  Consul UI                    ${urls.consulUi}`);
  log(`  Vault API                    ${urls.vault}   (root token in ${paths.vaultToken}; the UI is not built in)`);
  log(`  RabbitMQ management          ${urls.rabbitmqManagement}   (orderlab-admin, password in ${paths.secrets})`);
  log(
    `lab: times: tools ensure ${timings.toolsEnsureSeconds} s, agents ${timings.agentsSeconds} s, synth ${timings.synthSeconds} s, ` +
      `apply ${timings.applySeconds} s, up to all healthy ${timings.upToHealthySeconds} s`,
  );
  return timings;
}

export async function down(options: { log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? console.log;
  const t0 = performance.now();
  if (await agentRuns("nomad")) {
    const vaultUp = await agentRuns("vault");
    if (!vaultUp) log("lab: Vault is not running, so nothing is destroyed one by one; the jobs are purged and the agents stopped");
    if (existsSync(join(OUT_DIR, "manifest.json")) && agentPid("consul") !== undefined && vaultUp) {
      log("lab: destroying what was applied (scripts/lab/apply.ts destroy)");
      try {
        loadResources(OUT_DIR, new Proxy({}, { get: () => "" }) as Record<string, string>);
        await destroy({ outDir: OUT_DIR, variables: {}, log: (line) => log(`  ${line}`) });
      } catch (error) {
        log(`lab: destroy from ${OUT_DIR} failed (${(error as Error).message}); purging every job instead`);
      }
    }
    // Whatever else is registered in the lab's own Nomad goes too.
    for (const job of await nomad<JobStub[]>("GET", "/v1/jobs")) {
      await nomad("DELETE", `/v1/job/${job.ID}?purge=true`);
      log(`  nomad job ${job.ID}: deregistered and purged`);
    }
    // Let Nomad stop the tasks (kill timeout 10 s) before the agent goes.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && taskProcesses().length > 0) await sleep(500);
  }
  const stoppedNomad = await stopAgent("nomad");
  const stoppedVault = await stopAgent("vault");
  const stoppedConsul = await stopAgent("consul");
  const state = (stopped: boolean) => (stopped ? "stopped" : "was not running");
  log(`lab: nomad ${state(stoppedNomad)}, vault ${state(stoppedVault)}, consul ${state(stoppedConsul)}`);
  const leftovers = await killLabProcesses();
  for (const p of leftovers) log(`lab: stopped leftover process ${p.pid}: ${p.command}`);
  const remaining = labProcesses();
  if (remaining.length > 0) {
    throw new Error(`lab: processes still running after down:\n  ${remaining.map((p) => `${p.pid} ${p.command}`).join("\n  ")}`);
  }
  log(`lab: down in ${seconds(performance.now() - t0)} s; nothing of the lab runs`);
}

/** Lab processes other than the agents and Nomad's own helpers (executor, logmon): the tasks. */
function taskProcesses() {
  const agents = [toolPath("nomad"), toolPath("consul"), toolPath("vault")];
  return labProcesses().filter((p) => !agents.some((bin) => p.command.startsWith(bin)));
}

export async function status(): Promise<boolean> {
  const consulPid = agentPid("consul");
  const vaultPid = agentPid("vault");
  const nomadPid = agentPid("nomad");
  const consulUp = await agentAnswers("consul");
  const vaultUp = await agentAnswers("vault");
  const nomadUp = await agentAnswers("nomad");
  const line = (pid: number | undefined, up: boolean, addr: string) =>
    `${pid ? `pid ${pid}` : "not started by the lab"}, ${up ? `answers on ${addr}` : "not answering"}`;
  console.log(`consul: ${line(consulPid, consulUp, CONSUL_ADDR)}`);
  console.log(`vault:  ${line(vaultPid, vaultUp, VAULT_ADDR)}`);
  console.log(`nomad:  ${line(nomadPid, nomadUp, NOMAD_ADDR)}`);
  if (!nomadUp || !nomadPid || !vaultUp || !vaultPid) {
    if (nomadUp && !vaultUp) console.log("vault is gone: the tasks' Vault tokens are void (npm run lab starts afresh)");
    const stray = labProcesses();
    if (stray.length > 0) console.log(`lab processes without agents: ${stray.map((p) => p.pid).join(", ")} (npm run lab:down stops them)`);
    return false;
  }
  const jobs = await nomad<JobStub[]>("GET", "/v1/jobs");
  if (jobs.length === 0) console.log("jobs: none registered");
  for (const job of jobs.sort((a, b) => a.ID.localeCompare(b.ID))) {
    const allocs = (await nomad<Allocation[]>("GET", `/v1/job/${job.ID}/allocations`)).filter((a) => a.DesiredStatus === "run");
    const health = allocs
      .map((a) => {
        const restarts = Object.values(a.TaskStates ?? {}).reduce((n, t) => n + t.Restarts, 0);
        const healthy = a.DeploymentStatus?.Healthy;
        return `${a.ID.slice(0, 8)} ${a.ClientStatus}${healthy === undefined ? "" : healthy ? " healthy" : " unhealthy"}${restarts ? ` restarts=${restarts}` : ""}`;
      })
      .join("; ");
    console.log(`  ${job.ID.padEnd(22)} ${job.Type.padEnd(8)} ${job.Status.padEnd(8)} ${health || (job.ParameterizedJob ? "(parameterized; dispatched on demand)" : "no allocation")}`);
  }
  if (consulUp) {
    const problems = await unhealthy().catch((e: Error) => [e.message]);
    console.log(problems.length === 0 ? "health: every deployment successful, every Consul check passing" : `health:\n  ${problems.join("\n  ")}`);
    if (problems.length === 0) {
      for (const [name, url] of Object.entries(labUrls())) console.log(`  ${name.padEnd(20)} ${url}`);
    }
    return problems.length === 0;
  }
  return false;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (invokedDirectly) {
  const program = new Command()
    .name("lab")
    .description(
      "The lab on this machine: Consul, Vault and Nomad dev agents on 127.0.0.1 and the lab target applied to them " +
        "through scripts/lab/apply.ts (the stand-in for cdktf deploy; the Terraform providers cannot be obtained here). " +
        `Ports: Traefik ${settings().traefik.entrypointPort}, RabbitMQ ${LAB_PORTS.amqp}/${LAB_PORTS.management}, Prometheus ${LAB_PORTS.prometheus}.`,
    );
  program.command("up", { isDefault: true }).description("tools, agents, synth, passwords, apply, wait until healthy").action(async () => {
    await up();
  });
  program.command("down").description("destroy what was applied, stop the agents and every lab process").action(async () => {
    await down();
  });
  program.command("status").description("agents, jobs, allocation and check health; exit 1 unless all healthy").action(async () => {
    if (!(await status())) process.exitCode = 1;
  });
  program.parseAsync(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
