/**
 * The lab end to end: Consul, Vault and Nomad dev agents on this machine, the lab target's stacks
 * applied to them (scripts/lab/apply.ts), and the pipeline driven through Traefik.
 *
 * beforeAll runs `lab up` (reusing a running lab); the last test runs `lab down` and checks
 * nothing is left. To look around afterwards, run `npm run lab` again.
 * Measurements (tools ensure, up to healthy, restart) are printed, not asserted.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LAB_PORTS, labSettings } from "../../stacks/config.js";
import { VAULT_ADDR, agentPid, consul, isAlive, labProcesses, nomad, paths, sleep, vault } from "../../scripts/lab/agents.js";
import { apply } from "../../scripts/lab/apply.js";
import { OUT_DIR, REPO_DIR, down, ensureTools, labSecrets, unhealthy, up, type UpTimings } from "../../scripts/lab/cli.js";
import { cacheRoot } from "../../scripts/lab/tools.js";
import { isListening } from "../../scripts/lib/local-rabbitmq.js";

const settings = labSettings({ ORDERLAB_REPO_DIR: REPO_DIR });
const PUBLIC = settings.traefik.publicUrl;
const SERVICES = ["order-service", "payment-service", "notification-service"] as const;

const measurements: Record<string, string> = {};
const measure = (name: string, value: string) => {
  measurements[name] = value;
  console.log(`[measure] ${name}: ${value}`);
};

const order = {
  customerId: "lab-e2e",
  items: [{ sku: "BOOK", quantity: 2, unitPrice: 19.99 }],
  currency: "EUR",
};

async function postOrder(): Promise<string> {
  const response = await fetch(`${PUBLIC}/order`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(order),
  });
  const body = (await response.json()) as { orderId: string; status: string };
  expect({ status: response.status, accepted: body.status }).toEqual({ status: 202, accepted: "pending" });
  return body.orderId;
}

/** Polls a URL until it answers 200 and returns the JSON body and how long it took. */
async function waitFor200(url: string, timeoutMs: number): Promise<{ body: any; ms: number }> {
  const t0 = performance.now();
  let last = "";
  while (performance.now() - t0 < timeoutMs) {
    const response = await fetch(url).catch((e: Error) => e);
    if (!(response instanceof Error)) {
      if (response.status === 200) return { body: await response.json(), ms: performance.now() - t0 };
      last = `${response.status} ${await response.text()}`;
    } else last = response.message;
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

async function runningAlloc(job: string): Promise<string> {
  const allocs = await nomad<{ ID: string; ClientStatus: string; DesiredStatus: string }[]>("GET", `/v1/job/${job}/allocations`);
  const running = allocs.find((a) => a.ClientStatus === "running" && a.DesiredStatus === "run");
  if (!running) throw new Error(`${job} has no running allocation`);
  return running.ID;
}

async function fsList(alloc: string, path: string): Promise<{ Name: string; FileMode: string; IsDir: boolean }[]> {
  return nomad("GET", `/v1/client/fs/ls/${alloc}?path=${encodeURIComponent(path)}`);
}

async function fsCatResponse(alloc: string, path: string): Promise<{ status: number; text: string }> {
  const token = readFileSync(paths.nomadToken, "utf8").trim();
  const response = await fetch(`http://127.0.0.1:4646/v1/client/fs/cat/${alloc}?path=${encodeURIComponent(path)}`, {
    headers: { "X-Nomad-Token": token },
  });
  return { status: response.status, text: await response.text() };
}

async function fsCat(alloc: string, path: string): Promise<string> {
  const { status, text } = await fsCatResponse(alloc, path);
  expect({ path, status }).toEqual({ path, status: 200 });
  return text;
}

/** Sum of a metric's samples in a Prometheus exposition. */
async function scrapeSum(url: string, metric: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

async function promQuery(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${PUBLIC}/prometheus/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

async function rabbitAdmin<T>(path: string): Promise<T> {
  const password = labSecrets().rabbitmq_orderlab_admin_password!;
  const response = await fetch(`http://127.0.0.1:${LAB_PORTS.management}/api${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`orderlab-admin:${password}`).toString("base64")}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

let upTimings: UpTimings;
let firstOrderId = "";

beforeAll(async () => {
  const before = performance.now();
  upTimings = await up({ log: (line) => console.log(line) });
  measure("lab up to all healthy (s)", String(upTimings.upToHealthySeconds));
  measure("tools ensure inside up (s)", String(upTimings.toolsEnsureSeconds));
  measure("whole beforeAll (s)", (Math.round((performance.now() - before) / 100) / 10).toString());
});

afterAll(async () => {
  // A failure before the last test must not leave the lab running.
  if (agentPid("nomad") !== undefined || agentPid("consul") !== undefined || labProcesses().length > 0) {
    await down({ log: (line) => console.log(line) });
  }
  console.log(`[measure] summary ${JSON.stringify(measurements)}`);
});

describe("lab", () => {
  test("tools ensure is quick on a warm cache (cold build times are on record)", () => {
    const t0 = performance.now();
    ensureTools();
    const warm = (performance.now() - t0) / 1000;
    measure("tools ensure, warm (s)", warm.toFixed(1));
    const timingsFile = join(cacheRoot(), "tools", "timings.json");
    if (existsSync(timingsFile)) {
      const records = JSON.parse(readFileSync(timingsFile, "utf8")) as { name: string; source: string; seconds: number }[];
      const builds = Object.fromEntries(records.filter((r) => r.source === "built").map((r) => [r.name, r.seconds]));
      measure("last recorded builds per tool (s; cold figures in docs/lab-tools.md)", JSON.stringify(builds));
    }
    // every tool the lab runs resolves to a binary
    expect(warm).toBeLessThan(120);
  });

  test("a second apply plans no change (apply --check exits 0)", () => {
    const variables = labSecrets();
    const env = { ...process.env, ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [`TF_VAR_${k}`, v])) };
    const result = spawnSync("npx", ["--no-install", "tsx", "scripts/lab/apply.ts", "apply", "--check", "--out", OUT_DIR], {
      cwd: REPO_DIR,
      env,
      encoding: "utf8",
    });
    expect(result.stdout).toMatch(/check: 0 of \d+ resources would change \(0 jobs\)/);
    expect(result.stdout).toMatch(/nomad job payment-service: no change \(Nomad plan diff: None\)/);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    // no secret value leaks into the output
    for (const value of Object.values(variables)) expect(result.stdout).not.toContain(value);
  });

  test("apply --check exits 1 and names the job when a job would change, and changes nothing", () => {
    // GIVEN a copy of the synthesized stacks in which payment-service's latency setting differs
    const copy = mkdtempSync(join(tmpdir(), "orderlab-check-"));
    cpSync(OUT_DIR, copy, { recursive: true });
    const file = join(copy, "stacks", "orderlab-lab-services", "cdk.tf.json");
    const doc = JSON.parse(readFileSync(file, "utf8")) as { resource: { nomad_job: Record<string, { jobspec: string }> } };
    const payment = Object.values(doc.resource.nomad_job).find((r) => r.jobspec.includes('"ID": "payment-service"'))!;
    expect(payment.jobspec).toContain('"PAYMENT_LATENCY_MS": "50"');
    payment.jobspec = payment.jobspec.replace('"PAYMENT_LATENCY_MS": "50"', '"PAYMENT_LATENCY_MS": "51"');
    writeFileSync(file, JSON.stringify(doc));
    const env = { ...process.env, ...Object.fromEntries(Object.entries(labSecrets()).map(([k, v]) => [`TF_VAR_${k}`, v])) };
    const check = (out: string) =>
      spawnSync("npx", ["--no-install", "tsx", "scripts/lab/apply.ts", "apply", "--check", "--out", out], { cwd: REPO_DIR, env, encoding: "utf8" });

    // WHEN checking it against the running lab
    const changed = check(copy);
    rmSync(copy, { recursive: true, force: true });

    // THEN exactly that job would update, the exit status says so, and the lab itself is untouched
    expect(changed.stdout).toMatch(/nomad job payment-service: would update \(Nomad plan diff: Edited\)/);
    expect(changed.stdout).toMatch(/check: 1 of \d+ resources would change \(1 jobs: payment-service\)/);
    expect(changed.status).toBe(1);
    expect(check(OUT_DIR).status).toBe(0);
  });

  test("a Vault policy or role changed behind the applier's back is planned as a change and put right", async () => {
    // GIVEN order-service's policy widened to payment-service's secret, and its role bound to any job
    const variables = labSecrets();
    await vault("PUT", "/v1/sys/policies/acl/order-service-read", {
      policy: 'path "orderlab/data/rabbitmq/order-service" { capabilities = ["read"] }\npath "orderlab/data/rabbitmq/payment-service" { capabilities = ["read"] }\n',
    });
    const lines: string[] = [];
    let planned: Awaited<ReturnType<typeof apply>>;
    try {
      await vault("POST", "/v1/auth/jwt-nomad/role/nomad-order-service", { role_type: "jwt", bound_claims: { nomad_namespace: "default" } });

      // WHEN planning
      planned = await apply({ outDir: OUT_DIR, variables, check: true, log: (line) => lines.push(line) });
    } finally {
      // AND applying, which must put both back whatever happened above
      await apply({ outDir: OUT_DIR, variables, log: () => undefined });
    }

    // THEN exactly those two would change, and after the apply nothing does
    expect(planned.changes.filter((c) => c.change !== "none").map((c) => c.address)).toEqual([
      "vault policy order-service-read",
      "vault role jwt-nomad/nomad-order-service",
    ]);
    expect(lines).toContain("  vault role jwt-nomad/nomad-order-service: would update (role differs: bound_claims)");
    const after = await apply({ outDir: OUT_DIR, variables, check: true, log: () => undefined });
    expect(after.changes.filter((c) => c.change !== "none")).toEqual([]);
    const role = await vault<{ data: { bound_claims: Record<string, string> } }>("GET", "/v1/auth/jwt-nomad/role/nomad-order-service");
    expect(role.data.bound_claims).toEqual({ nomad_namespace: "default", nomad_job_id: "order-service" });
  });

  test("a mount of another type where the KV mount belongs is replaced, and the secrets written again", async () => {
    // GIVEN the orderlab mount swapped for a transit engine
    const variables = labSecrets();
    await vault("DELETE", "/v1/sys/mounts/orderlab");
    await vault("POST", "/v1/sys/mounts/orderlab", { type: "transit" });

    // WHEN planning, then applying
    const planned = await apply({ outDir: OUT_DIR, variables, check: true, log: () => undefined });
    await apply({ outDir: OUT_DIR, variables, log: () => undefined });

    // THEN the mount is to be replaced and the five secrets created; afterwards all is as declared
    const changed = planned.changes.filter((c) => c.change !== "none");
    expect(changed.map((c) => `${c.address}: ${c.detail}`)).toEqual([
      "vault mount orderlab: mount is transit: replace",
      ...["grafana/admin", "rabbitmq/notification-service", "rabbitmq/order-service", "rabbitmq/orderlab-admin", "rabbitmq/payment-service"].map(
        (secret) => `vault secret orderlab/${secret}: absent`,
      ),
    ]);
    const after = await apply({ outDir: OUT_DIR, variables, check: true, log: () => undefined });
    expect(after.changes.filter((c) => c.change !== "none")).toEqual([]);
  });

  test("an order through Traefik is paid and notified within a few seconds", async () => {
    const t0 = performance.now();
    firstOrderId = await postOrder();
    const payment = await waitFor200(`${PUBLIC}/payment/${firstOrderId}`, 10_000);
    const notification = await waitFor200(`${PUBLIC}/notify/${firstOrderId}`, 10_000);
    expect(payment.body).toMatchObject({ orderId: firstOrderId, status: expect.stringMatching(/^(approved|declined)$/) });
    expect(notification.body).toMatchObject({ orderId: firstOrderId, paymentId: payment.body.paymentId });
    measure("order to notification through Traefik (ms)", (performance.now() - t0).toFixed(0));
  });

  test("every public route answers through Traefik and anything else gets Traefik's 404", async () => {
    const routed = {
      [`/order/${firstOrderId}`]: 200,
      [`/payment/${firstOrderId}`]: 200,
      [`/notify/${firstOrderId}`]: 200,
      "/prometheus/-/ready": 200,
    };
    const unrouted = ["/", "/orders", "/notifyx", "/rabbitmq", "/consul", "/nomad", "/grafana", "/api/overview", "/v1/jobs"];
    const answers: Record<string, number> = {};
    for (const path of [...Object.keys(routed), ...unrouted]) {
      const response = await fetch(`${PUBLIC}${path}`);
      answers[path] = response.status;
      if (unrouted.includes(path)) expect(await response.text()).toBe("404 page not found\n");
      else await response.arrayBuffer();
    }
    expect(answers).toEqual({ ...routed, ...Object.fromEntries(unrouted.map((p) => [p, 404])) });
  });

  test("Prometheus (the Nomad job) scrapes every service and RabbitMQ, all up, and records order latency", async () => {
    const expected = [...SERVICES, "rabbitmq"].sort();
    let health: Record<string, string> = {};
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const response = await fetch(`${PUBLIC}/prometheus/api/v1/targets`);
      const body = (await response.json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      health = Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
      if (expected.every((job) => health[job] === "up")) break;
      await sleep(1000);
    }
    expect(health).toEqual(Object.fromEntries(expected.map((job) => [job, "up"])));

    let count = 0;
    while (Date.now() < deadline + 20_000) {
      const result = await promQuery("sum(order_to_notification_seconds_count)");
      count = Number(result[0]?.value[1] ?? 0);
      if (count > 0) break;
      await sleep(1000);
    }
    expect(count).toBeGreaterThan(0);
    // RabbitMQ's per-queue series reach Prometheus too
    expect((await promQuery('rabbitmq_queue_messages_ready{queue="payment-service.order-created"}')).length).toBe(1);
  });

  test("everything the lab runs listens on the loopback only", () => {
    // GIVEN every listening TCP socket and its process, from ss
    const ss = spawnSync("ss", ["-ltnpH"], { encoding: "utf8" });
    expect(ss.status).toBe(0);
    const ours = new Set(labProcesses().map((p) => p.pid));
    const sockets = ss.stdout
      .trim()
      .split("\n")
      .map((line) => {
        const fields = line.trim().split(/\s+/);
        const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
        return { local: fields[3] ?? "", pids };
      })
      .filter((s) => s.pids.some((pid) => ours.has(pid)));

    // THEN the lab has listeners (agents, broker, services), and none beyond the loopback
    expect(sockets.length).toBeGreaterThan(10);
    expect(sockets.filter((s) => !/^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/.test(s.local))).toEqual([]);
  });

  test("Consul holds the declared intentions: the graph's pairs are allowed, others denied", async () => {
    const check = async (source: string, destination: string) =>
      (await consul<{ Allowed: boolean }>("GET", `/v1/connect/intentions/check?source=${source}&destination=${destination}`)).Allowed;
    const allowed = [
      ["traefik", "order-service"],
      ["traefik", "payment-service"],
      ["traefik", "notification-service"],
      ["traefik", "prometheus"],
      ["order-service", "rabbitmq"],
      ["payment-service", "rabbitmq"],
      ["notification-service", "rabbitmq"],
      ["prometheus", "order-service"],
      ["prometheus", "rabbitmq"],
      ["grafana", "prometheus"],
    ];
    const denied = [
      ["order-service", "payment-service"],
      ["payment-service", "notification-service"],
      ["notification-service", "order-service"],
      ["traefik", "rabbitmq"],
      ["order-service", "prometheus"],
      ["rabbitmq", "order-service"],
      ["locust", "rabbitmq"],
    ];
    const answers: Record<string, boolean> = {};
    for (const [s, d] of [...allowed, ...denied]) answers[`${s} -> ${d}`] = await check(s!, d!);
    expect(answers).toEqual({
      ...Object.fromEntries(allowed.map(([s, d]) => [`${s} -> ${d}`, true])),
      ...Object.fromEntries(denied.map(([s, d]) => [`${s} -> ${d}`, false])),
    });
  });

  test("Vault holds each service's RabbitMQ account; each task's token reads its own and is refused the others", async () => {
    const secrets = labSecrets();
    const read = async (token: string, secret: string) => {
      const response = await fetch(`${VAULT_ADDR}/v1/orderlab/data/${secret}`, { headers: { "X-Vault-Token": token } });
      return { status: response.status, body: (await response.json()) as { data?: { data: Record<string, string> } } };
    };
    const root = readFileSync(paths.vaultToken, "utf8").trim();
    const stored = [...SERVICES, "orderlab-admin"].map((account) => `rabbitmq/${account}`).concat("grafana/admin");

    for (const service of SERVICES) {
      // the secret, as the platform stack wrote it (the password compared, never printed)
      const own = await read(root, `rabbitmq/${service}`);
      expect(own.status).toBe(200);
      expect(own.body.data?.data.username).toBe(service);
      expect(own.body.data?.data.password === secrets[`rabbitmq_${service.replace(/-/g, "_")}_password`]).toBe(true);

      // the token Nomad got for the task by logging in with its workload identity
      const alloc = await runningAlloc(service);
      const token = readFileSync(join(paths.allocDir, alloc, service, "secrets", "vault_token"), "utf8").trim();
      const self = (await (await fetch(`${VAULT_ADDR}/v1/auth/token/lookup-self`, { headers: { "X-Vault-Token": token } })).json()) as {
        data: { policies: string[]; meta: Record<string, string> };
      };
      expect({ service, policies: self.data.policies.sort(), job: self.data.meta.nomad_job_id }).toEqual({
        service,
        policies: ["default", `${service}-read`],
        job: service,
      });
      const statuses = Object.fromEntries(await Promise.all(stored.map(async (secret) => [secret, (await read(token, secret)).status])));
      expect({ service, statuses }).toEqual({
        service,
        statuses: Object.fromEntries(stored.map((secret) => [secret, secret === `rabbitmq/${service}` ? 200 : 403])),
      });
    }

    // the broker: one user per service plus the administrator, no guest; each service connects as itself
    const users = await rabbitAdmin<{ name: string }[]>("/users");
    expect(users.map((u) => u.name).sort()).toEqual(["notification-service", "order-service", "orderlab-admin", "payment-service"]);
    const connections = await rabbitAdmin<{ user: string; vhost: string }[]>("/connections");
    expect([...new Set(connections.map((c) => `${c.user}@${c.vhost}`))].sort()).toEqual(
      SERVICES.map((s) => `${s}@orderlab`).sort(),
    );
    const guest = await fetch(`http://127.0.0.1:${LAB_PORTS.management}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
    });
    expect(guest.status).toBe(401);
  });

  test("the rendered env files are in each task's secrets dir, mode 600, never in local/", async () => {
    for (const service of SERVICES) {
      const alloc = await runningAlloc(service);
      const secretsDir = await fsList(alloc, `/${service}/secrets`);
      expect(secretsDir.find((f) => f.Name === "rabbitmq.env")).toMatchObject({ FileMode: "-rw-------", IsDir: false });
      const localDir = await fsList(alloc, `/${service}/local`);
      expect(localDir.map((f) => f.Name)).not.toContain("rabbitmq.env");
      // Nomad's file system API refuses to serve a secrets dir, even with the management token
      const served = await fsCatResponse(alloc, `/${service}/secrets/rabbitmq.env`);
      expect(served.text).toContain("Reading secret file prohibited");
      // on the node, the file holds the service's own account and the broker found through Consul
      // (compared with the password redacted, so a failure never prints it)
      const env = readFileSync(join(paths.allocDir, alloc, service, "secrets", "rabbitmq.env"), "utf8").trim();
      const password = labSecrets()[`rabbitmq_${service.replace(/-/g, "_")}_password`]!;
      expect(env.includes(`:${encodeURIComponent(password)}@`)).toBe(true);
      expect(env.replace(/:[^:@/]+@/, ":<password>@")).toBe(
        `RABBITMQ_URL=amqp://${service}:<password>@127.0.0.1:${LAB_PORTS.amqp}/orderlab`,
      );
    }
    const broker = await runningAlloc("rabbitmq");
    const provision = await fsList(broker, "/provision-users/secrets");
    expect(provision.find((f) => f.Name === "accounts.env")).toMatchObject({ FileMode: "-rw-------" });
  });

  test("payment-service journals payments in the allocation's data dir", async () => {
    const alloc = await runningAlloc("payment-service");
    const journal = await fsCat(alloc, "/alloc/data/payments.jsonl");
    const entries = journal.trim().split("\n").map((line) => JSON.parse(line) as { paid?: { orderId: string }; published?: string });
    expect(entries.filter((e) => e.paid?.orderId === firstOrderId)).toHaveLength(1);
    expect(entries.filter((e) => e.published === firstOrderId)).toHaveLength(1);
  });

  test("a killed payment-service process is restarted by Nomad, and an order posted meanwhile is delivered once", async () => {
    // GIVEN the running task's processes, from the allocation's stats
    const alloc = await runningAlloc("payment-service");
    const stats = await nomad<{ Tasks: Record<string, { Pids?: Record<string, unknown> }> }>("GET", `/v1/client/allocation/${alloc}/stats`);
    const pids = Object.keys(stats.Tasks["payment-service"]?.Pids ?? {}).map(Number);
    // the service itself: the node process running main.ts (tsx starts it as a child)
    const service = pids.filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmd.includes("services/payment-service/main.ts") && cmd.includes("loader.mjs");
      } catch {
        return false;
      }
    });
    expect(service).toHaveLength(1);
    const notifiedBefore = await scrapeSum("http://127.0.0.1:3002/metrics", "order_to_notification_seconds_count");
    const restartsBefore = await taskRestarts(alloc);

    // WHEN it is killed and an order is posted while it is down
    const t0 = performance.now();
    process.kill(service[0]!, "SIGKILL");
    await waitUntilDown("http://127.0.0.1:3001/health", 10_000);
    const orderId = await postOrder();

    // THEN Nomad restarts the task in the same allocation and Consul sees it healthy again
    await waitForCondition(30_000, async () => (await taskRestarts(alloc)) > restartsBefore);
    const health = await waitFor200("http://127.0.0.1:3001/health", 60_000);
    const healthMs = performance.now() - t0;
    await waitForCondition(60_000, async () => (await unhealthy()).length === 0);
    const passingMs = performance.now() - t0;
    expect(health.body).toMatchObject({ status: "ok" });
    measure("payment-service restart: kill to /health answering (s)", (healthMs / 1000).toFixed(1));
    measure("payment-service restart: kill to all Consul checks passing (s)", (passingMs / 1000).toFixed(1));

    // AND the order is paid and notified once
    const notified = await waitFor200(`${PUBLIC}/notify/${orderId}`, 30_000);
    expect(notified.body.orderId).toBe(orderId);
    await sleep(3000); // room for a duplicate, were there one
    const notifiedAfter = await scrapeSum("http://127.0.0.1:3002/metrics", "order_to_notification_seconds_count");
    expect(notifiedAfter - notifiedBefore).toBe(1);
    // the restarted process has decided exactly one payment: this order (nothing else was in flight)
    expect(await scrapeSum("http://127.0.0.1:3001/metrics", "payments_processed_total")).toBe(1);
    expect(await runningAlloc("payment-service")).toBe(alloc);
    const journal = await fsCat(alloc, "/alloc/data/payments.jsonl");
    expect(journal.split("\n").filter((line) => line.includes(`"paid"`) && line.includes(orderId))).toHaveLength(1);
  });

  test("with its Vault gone, status says so and exits 1, and up starts the lab afresh with working tokens", async () => {
    // GIVEN the Vault dev server killed under the running lab
    const vaultPid = agentPid("vault")!;
    process.kill(vaultPid, "SIGKILL");
    await waitForCondition(10_000, async () => !isAlive(vaultPid));

    // THEN status fails, naming it
    const status = spawnSync("npx", ["--no-install", "tsx", "scripts/lab/cli.ts", "status"], { cwd: REPO_DIR, encoding: "utf8" });
    expect(status.status).toBe(1);
    expect(status.stdout).toContain("vault is gone: the tasks' Vault tokens are void");

    // WHEN the lab is brought up again
    const lines: string[] = [];
    await up({ log: (line) => lines.push(line) });

    // THEN it started afresh, and a task's token works against the new Vault
    expect(lines).toContain("lab: Nomad runs but its Vault is gone, so every task's Vault token is void; starting the lab afresh");
    const alloc = await runningAlloc("order-service");
    const token = readFileSync(join(paths.allocDir, alloc, "order-service", "secrets", "vault_token"), "utf8").trim();
    const own = await fetch(`${VAULT_ADDR}/v1/orderlab/data/rabbitmq/order-service`, { headers: { "X-Vault-Token": token } });
    expect(own.status).toBe(200);
    const orderId = await postOrder();
    expect((await waitFor200(`${PUBLIC}/notify/${orderId}`, 10_000)).body.orderId).toBe(orderId);
  });

  test("lab down deregisters everything and leaves no process or listener behind", async () => {
    // destroy first, so the agents can still be asked what is left
    const variables = labSecrets();
    const result = spawnSync("npx", ["--no-install", "tsx", "scripts/lab/apply.ts", "destroy", "--out", OUT_DIR], {
      cwd: REPO_DIR,
      env: process.env,
      encoding: "utf8",
    });
    expect(result.status).toBe(0);
    expect(await nomad("GET", "/v1/jobs")).toEqual([]);
    // the Vault side of the platform stack is gone with it
    const mounts = await vault<{ data: Record<string, unknown> }>("GET", "/v1/sys/mounts");
    const auths = await vault<{ data: Record<string, unknown> }>("GET", "/v1/sys/auth");
    const policies = await vault<{ data: { keys: string[] } }>("GET", "/v1/sys/policies/acl?list=true");
    expect({ mount: "orderlab/" in mounts.data, auth: "jwt-nomad/" in auths.data, policies: policies.data.keys.sort() }).toEqual({
      mount: false,
      auth: false,
      policies: ["default", "root"],
    });
    expect(await consul("GET", "/v1/config/service-intentions")).toEqual([]);
    // the applier's view agrees: everything would be created again
    const plan = await apply({ outDir: OUT_DIR, variables, check: true, log: () => undefined });
    expect(plan.changes.filter((c) => c.change !== "create")).toEqual([]);

    await down({ log: (line) => console.log(line) });
    expect(labProcesses()).toEqual([]);
    const listening: number[] = [];
    for (const port of [4646, 4647, 4648, 8200, 8500, 8600, settings.traefik.entrypointPort, settings.traefik.adminPort, LAB_PORTS.amqp, LAB_PORTS.management, LAB_PORTS.rabbitmqPrometheus, LAB_PORTS.prometheus]) {
      if (await isListening(port)) listening.push(port);
    }
    expect(listening).toEqual([]);
  });
});

async function taskRestarts(alloc: string): Promise<number> {
  const a = await nomad<{ TaskStates: Record<string, { Restarts: number }> }>("GET", `/v1/allocation/${alloc}`);
  return a.TaskStates["payment-service"]?.Restarts ?? 0;
}

async function waitUntilDown(url: string, timeoutMs: number): Promise<void> {
  await waitForCondition(timeoutMs, async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    return response === undefined;
  });
}

async function waitForCondition(timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(250);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
