/**
 * The docker compose path, checked without a Docker engine: docker-compose 1.29 (Debian) parses
 * and interpolates the file, promtool checks Prometheus' configuration, the services' own
 * settings schemas accept what compose hands them, and each Dockerfile's runtime stage is
 * rebuilt as a plain directory and started with its CMD and HEALTHCHECK.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, cpSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { OPERATIONAL_PATHS, RABBITMQ, SERVICES, type ServiceKey } from "../../contract/index.js";
import { serviceSettingsSchema } from "../../services/lib/config/env.js";
import { paymentSettingsSchema } from "../../services/payment-service/service.js";
import { RABBITMQ_METRICS_PATH } from "../../stacks/messaging-stack.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const COMPOSE_FILE = join(ROOT, "docker-compose.yml");
const DOCKER_COMPOSE = "/usr/bin/docker-compose";
const PROMTOOL = "/usr/bin/promtool";
const APP_KEYS = Object.keys(SERVICES) as ServiceKey[];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** Runs docker-compose with only PATH and HOME from our environment, so no shell variable leaks in. */
function composeConfig(envFile: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(DOCKER_COMPOSE, ["--env-file", envFile, "-f", COMPOSE_FILE, "config"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir("orderlab-compose-home-") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { status: 0, stdout, stderr: "" };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

function writeEnvFile(values: Record<string, string>): string {
  const file = join(tempDir("orderlab-compose-env-"), "env");
  writeFileSync(file, Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(""));
  return file;
}

const SENTINELS = {
  RABBITMQ_USER: "sentinel-user",
  RABBITMQ_PASSWORD: "sentinel-broker-password",
  GRAFANA_ADMIN_USER: "sentinel-admin",
  GRAFANA_ADMIN_PASSWORD: "sentinel-grafana-password",
};

/** The file as written (anchors merged), and as docker-compose resolves it with the sentinels. */
const rawText = readFileSync(COMPOSE_FILE, "utf8");
const raw = parse(rawText, { merge: true }) as ComposeFile;
const resolvedRun = composeConfig(writeEnvFile(SENTINELS));
const resolved = (resolvedRun.status === 0 ? parse(resolvedRun.stdout) : { services: {} }) as ComposeFile;

// --- Dockerfiles ---------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile: comments dropped, continuation lines joined. */
function instructions(path: string): Instruction[] {
  const logical = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return logical.map((line) => {
    const [keyword = "", ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
  });
}

/** The stage a Dockerfile ends with: the instructions after its last FROM. */
function finalStage(all: Instruction[]): Instruction[] {
  const lastFrom = all.map((i) => i.keyword).lastIndexOf("FROM");
  return all.slice(lastFrom);
}

/** ENV in both forms (`K=V K2=V2` and `K V`). */
function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.filter((i) => i.keyword === "ENV")) {
    if (args.includes("=")) for (const pair of args.split(/\s+/)) env[pair.split("=")[0]!] = pair.split("=").slice(1).join("=");
    else env[args.split(/\s+/)[0]!] = args.split(/\s+/).slice(1).join(" ");
  }
  return env;
}

/** The JSON array of an exec-form CMD or HEALTHCHECK (options before `CMD` skipped). */
function execForm(args: string): string[] {
  return JSON.parse(args.slice(args.indexOf("["))) as string[];
}

const dockerfileOf = (key: ServiceKey): string => `services/${SERVICES[key].name}/Dockerfile`;

describe("docker-compose config (docker-compose 1.29)", () => {
  test("parses and interpolates with the placeholders of .env.example", () => {
    const run = composeConfig(join(ROOT, ".env.example"));
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const config = parse(run.stdout) as ComposeFile;
    expect(Object.keys(config.services).sort()).toEqual(
      ["grafana", "locust", "prometheus", "rabbitmq", ...APP_KEYS.map((k) => SERVICES[k].name)].sort(),
    );
  });

  test("refuses to run without the credentials, naming the missing variable", () => {
    const { RABBITMQ_PASSWORD: _omitted, ...rest } = SENTINELS;
    const run = composeConfig(writeEnvFile(rest));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("set RABBITMQ_PASSWORD in .env");
  });
});

describe("credentials", () => {
  test("reach the broker, the services and Grafana from the env file", () => {
    expect(resolvedRun.stderr).toBe("");
    const { services } = resolved;
    const url = `amqp://${SENTINELS.RABBITMQ_USER}:${SENTINELS.RABBITMQ_PASSWORD}@rabbitmq:${RABBITMQ.amqpPort}`;
    for (const key of APP_KEYS) expect(services[SERVICES[key].name]?.environment?.RABBITMQ_URL).toBe(url);
    expect(services.rabbitmq?.environment).toMatchObject({
      RABBITMQ_DEFAULT_USER: SENTINELS.RABBITMQ_USER,
      RABBITMQ_DEFAULT_PASS: SENTINELS.RABBITMQ_PASSWORD,
    });
    expect(services.grafana?.environment).toMatchObject({
      GF_SECURITY_ADMIN_USER: SENTINELS.GRAFANA_ADMIN_USER,
      GF_SECURITY_ADMIN_PASSWORD: SENTINELS.GRAFANA_ADMIN_PASSWORD,
    });
  });

  test("are written in the file only as variables", () => {
    for (const key of APP_KEYS) {
      expect(raw.services[SERVICES[key].name]?.environment?.RABBITMQ_URL).toMatch(
        /^amqp:\/\/\$\{RABBITMQ_USER:\?[^}]*\}:\$\{RABBITMQ_PASSWORD:\?[^}]*\}@rabbitmq:5672$/,
      );
    }
    expect(raw.services.rabbitmq?.environment?.RABBITMQ_DEFAULT_PASS).toMatch(/^\$\{RABBITMQ_PASSWORD:\?/);
    expect(raw.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?/);
    expect(rawText).not.toMatch(/guest/i);
    const placeholders = readFileSync(join(ROOT, ".env.example"), "utf8").match(/^[A-Z_]*PASSWORD=(.+)$/gm) ?? [];
    expect(placeholders).toHaveLength(2);
    for (const line of placeholders) expect(rawText).not.toContain(line.split("=")[1]);
  });

  test(".env is git-ignored and kept out of the image build context", () => {
    expect(execFileSync("git", ["check-ignore", ".env"], { cwd: ROOT, encoding: "utf8" }).trim()).toBe(".env");
    const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    expect(patterns[0]).toBe("*");
    expect(patterns.some((p) => p.startsWith("!") && ".env".startsWith(p.slice(1).replace(/\/$/, "")))).toBe(false);
  });
});

describe("health", () => {
  const hasHealthcheck = (name: string): boolean => {
    const service = raw.services[name];
    if (service?.healthcheck) return true;
    const dockerfile = service?.build?.dockerfile;
    return !!dockerfile && finalStage(instructions(join(ROOT, dockerfile))).some((i) => i.keyword === "HEALTHCHECK");
  };

  test("every service has a healthcheck or waits for healthy dependencies", () => {
    for (const [name, service] of Object.entries(raw.services)) {
      const dependsOnHealthy = Object.values(service.depends_on ?? {}).some((d) => d.condition === "service_healthy");
      expect({ name, covered: hasHealthcheck(name) || dependsOnHealthy }).toEqual({ name, covered: true });
    }
  });

  test("every dependency waited for has a healthcheck to wait on", () => {
    for (const [name, service] of Object.entries(raw.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: "service_healthy" });
        expect({ dependency, healthcheck: hasHealthcheck(dependency) }).toEqual({ dependency, healthcheck: true });
      }
    }
  });
});

describe.each(APP_KEYS)("%s in compose", (key) => {
  const { name, port } = SERVICES[key];

  test("is built from its own Dockerfile with the repository as context", () => {
    expect(raw.services[name]?.build).toEqual({ context: ".", dockerfile: dockerfileOf(key) });
    expect(existsSync(join(ROOT, dockerfileOf(key)))).toBe(true);
  });

  test("listens on the contract's port on every interface, published on loopback", () => {
    const env = resolved.services[name]?.environment;
    expect(env).toMatchObject({ HOST: "0.0.0.0", PORT: port });
    expect(raw.services[name]?.ports).toEqual([`127.0.0.1:${port}:${port}`]);
  });

  test("waits for a healthy broker", () => {
    expect(raw.services[name]?.depends_on).toEqual({ rabbitmq: { condition: "service_healthy" } });
  });

  test("gets settings its own schema accepts, with the schema's defaults", () => {
    const env = Object.fromEntries(Object.entries(resolved.services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]));
    const schema = key === "payment" ? paymentSettingsSchema : serviceSettingsSchema(port);
    const settings = schema.parse(env) as Record<string, unknown>;
    const defaults = schema.parse({}) as Record<string, unknown>;
    // What compose sets on purpose; every other value must be the service's own default.
    const composeOwn = new Set(["HOST", "RABBITMQ_URL", "PAYMENT_JOURNAL"]);
    for (const [variable, value] of Object.entries(settings)) {
      if (composeOwn.has(variable)) continue;
      expect({ variable, value }).toEqual({ variable, value: defaults[variable] });
    }
    expect(Object.keys(env).sort()).toEqual(Object.keys(settings).sort());
  });
});

describe("payment-service journal", () => {
  test("lives on a named volume whose directory the image gives to its user", () => {
    const service = raw.services[SERVICES.payment.name]!;
    const journal = String(service.environment?.PAYMENT_JOURNAL);
    const mount = service.volumes?.find((v) => v.endsWith(`:${posix.dirname(journal)}`));
    expect(mount).toBeDefined();
    expect(mount!.startsWith(".")).toBe(false);
    const stage = finalStage(instructions(join(ROOT, dockerfileOf("payment"))));
    const user = stage.filter((i) => i.keyword === "USER").at(-1)?.args;
    expect(stage).toContainEqual({
      keyword: "RUN",
      args: `mkdir -p ${posix.dirname(journal)} && chown ${user}:${user} ${posix.dirname(journal)}`,
    });
  });
});

describe("rabbitmq in compose", () => {
  test("publishes AMQP, the management UI and the Prometheus endpoint", () => {
    const { amqpPort, managementPort, prometheusPort } = RABBITMQ;
    expect(raw.services.rabbitmq?.ports).toEqual([amqpPort, managementPort, prometheusPort].map((p) => `127.0.0.1:${p}:${p}`));
    expect(raw.services.rabbitmq?.image).toMatch(/^rabbitmq:3\.13(\.\d+)?-management$/);
  });

  test("enables the management and prometheus plugins", () => {
    const mount = raw.services.rabbitmq?.volumes?.find((v) => v.includes(":/etc/rabbitmq/enabled_plugins"));
    expect(mount).toBeDefined();
    const plugins = readFileSync(join(ROOT, mount!.split(":")[0]!), "utf8");
    expect(plugins.trim()).toMatch(/^\[.*\]\.$/);
    expect(plugins).toContain("rabbitmq_management");
    expect(plugins).toContain("rabbitmq_prometheus");
  });
});

describe("prometheus in compose", () => {
  const configPath = join(ROOT, "observability/prometheus/compose.yml");
  const config = parse(readFileSync(configPath, "utf8")) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };

  test("passes promtool check config, both rule files included", () => {
    const output = execFileSync(PROMTOOL, ["check", "config", configPath], { encoding: "utf8" });
    expect(output).toContain("SUCCESS: 2 rule files found");
    expect(output).toMatch(/SUCCESS: \d+ rules found[\s\S]*SUCCESS: \d+ rules found/);
  });

  test("loads that file with the rules beside it, as in the repository", () => {
    const service = raw.services.prometheus!;
    const mount = service.volumes?.find((v) => v.startsWith("./observability/prometheus:"));
    const target = mount?.split(":")[1];
    expect(service.command).toContain(`--config.file=${target}/compose.yml`);
    expect(config.rule_files).toEqual(["rules/*.yml"]);
  });

  test("scrapes the three services on their ports and RabbitMQ's per-object endpoint", () => {
    const targets = Object.fromEntries(config.scrape_configs.map((s) => [s.job_name, s.static_configs.flatMap((c) => c.targets)]));
    const expected: Record<string, string[]> = { rabbitmq: [`rabbitmq:${RABBITMQ.prometheusPort}`] };
    for (const key of APP_KEYS) expected[SERVICES[key].name] = [`${SERVICES[key].name}:${SERVICES[key].port}`];
    expect(targets).toEqual(expected);
    for (const job of Object.keys(targets)) expect(raw.services[job]).toBeDefined();
    expect(config.scrape_configs.find((s) => s.job_name === "rabbitmq")?.metrics_path).toBe(RABBITMQ_METRICS_PATH);
    for (const s of config.scrape_configs.filter((s) => s.job_name !== "rabbitmq")) {
      expect(s.metrics_path ?? "/metrics").toBe(OPERATIONAL_PATHS.metrics);
    }
  });
});

describe("grafana in compose", () => {
  const service = raw.services.grafana!;
  const mountTarget = (source: string) => service.volumes?.find((v) => v.startsWith(`${source}:`))?.split(":")[1];

  test("is provisioned from the shared files, with the variables they expand", () => {
    const datasources = readFileSync(join(ROOT, "observability/grafana/provisioning/datasources/prometheus.yml"), "utf8");
    const dashboards = readFileSync(join(ROOT, "observability/grafana/provisioning/dashboards/orderlab.yml"), "utf8");
    expect(datasources).toContain("url: ${PROMETHEUS_URL}");
    expect(dashboards).toContain("path: ${DASHBOARDS_DIR}");
    expect(mountTarget("./observability/grafana/provisioning")).toBe("/etc/grafana/provisioning");
    expect(service.environment?.DASHBOARDS_DIR).toBe(mountTarget("./observability/grafana/dashboards"));
  });

  test("points its datasource at the compose Prometheus", () => {
    const promUrl = new URL(String(service.environment?.PROMETHEUS_URL));
    expect(raw.services[promUrl.hostname]?.image).toMatch(/^prom\/prometheus:/);
    const published = raw.services.prometheus?.ports?.[0]?.split(":").at(-1);
    expect(promUrl.port).toBe(published);
  });

  test("listens where it is published and where its healthcheck looks", () => {
    const port = String(service.environment?.GF_SERVER_HTTP_PORT);
    expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(service.healthcheck?.test.join(" ")).toContain(`:${port}/api/health`);
  });
});

describe("locust in compose", () => {
  const service = raw.services.locust!;

  test("runs the official image on the mounted locust/locustfile.py", () => {
    expect(service.image).toMatch(/^locustio\/locust:\d+\.\d+\.\d+$/);
    const mount = service.volumes?.find((v) => v.startsWith("./locust:"));
    const target = mount?.split(":")[1];
    expect(service.command).toEqual(["-f", `${target}/locustfile.py`]);
  });

  test("runs the Locust version locust/requirements.txt pins", () => {
    const pinned = readFileSync(join(ROOT, "locust/requirements.txt"), "utf8").match(/^locust==(\S+)$/m)?.[1];
    expect(pinned).toBeDefined();
    expect(service.image).toBe(`locustio/locust:${pinned}`);
  });

  test("targets order-service, and notification-service for the followers, on the compose network", () => {
    expect(service.environment).toMatchObject({
      LOCUST_HOST: `http://${SERVICES.order.name}:${SERVICES.order.port}`,
      NOTIFY_HOST: `http://${SERVICES.notification.name}:${SERVICES.notification.port}`,
    });
    for (const url of [service.environment?.LOCUST_HOST, service.environment?.NOTIFY_HOST]) {
      expect(raw.services[new URL(String(url)).hostname]?.build).toBeDefined();
    }
  });
});

describe.each(APP_KEYS)("%s Dockerfile", (key) => {
  const { name, port } = SERVICES[key];
  const all = instructions(join(ROOT, dockerfileOf(key)));
  const stage = finalStage(all);

  test("is multi-stage: npm ci in a build stage, copied into the runtime stage", () => {
    const froms = all.filter((i) => i.keyword === "FROM");
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args).toMatch(/^node:\d+\.\d+-bookworm-slim AS \w+$/);
    const buildStage = froms[0]!.args.split(" AS ")[1];
    const beforeRuntime = all.slice(0, all.indexOf(stage[0]!));
    expect(beforeRuntime.some((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args))).toBe(true);
    expect(stage).toContainEqual({ keyword: "COPY", args: `--from=${buildStage} /app/node_modules ./node_modules` });
    expect(stage.some((i) => i.keyword === "RUN" && /\bnpm\b/.test(i.args))).toBe(false);
  });

  test("runs as a user other than root", () => {
    const user = stage.filter((i) => i.keyword === "USER").at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  test("listens on every interface on the contract's port and checks /health", () => {
    expect(envOf(stage)).toMatchObject({ HOST: "0.0.0.0", PORT: String(port) });
    expect(stage).toContainEqual({ keyword: "EXPOSE", args: String(port) });
    const healthcheck = stage.find((i) => i.keyword === "HEALTHCHECK");
    expect(healthcheck).toBeDefined();
    const command = execForm(healthcheck!.args);
    expect(command[0]).toBe("node");
    expect(command.join(" ")).toContain(`'${OPERATIONAL_PATHS.health}'`);
  });

  test("starts its own main.ts", () => {
    const cmd = execForm(stage.find((i) => i.keyword === "CMD")!.args);
    expect(cmd).toEqual(["node", "--import", "tsx", `services/${name}/main.ts`]);
  });
});

// --- the runtime stage, rebuilt as a directory and run --------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lays out what the runtime stage's COPY instructions produce under WORKDIR; node_modules is the repo's. */
function assembleRuntimeStage(stage: Instruction[]): string {
  const dir = tempDir("orderlab-image-");
  const workdir = stage.find((i) => i.keyword === "WORKDIR")!.args;
  for (const { args } of stage.filter((i) => i.keyword === "COPY")) {
    const parts = args.split(/\s+/);
    const [source, target] = [parts.at(-2)!, parts.at(-1)!];
    const dest = join(dir, posix.relative(workdir, posix.resolve(workdir, target)));
    if (args.startsWith("--from=")) {
      expect(source).toBe(`${workdir}/node_modules`);
      symlinkSync(join(ROOT, "node_modules"), dest);
    } else {
      const destPath = target.endsWith("/") ? join(dest, posix.basename(source)) : dest;
      mkdirSync(dirname(destPath), { recursive: true });
      cpSync(join(ROOT, source), destPath, { recursive: true });
    }
  }
  return dir;
}

describe.each(APP_KEYS)("%s runtime stage, run outside Docker", (key) => {
  test("starts from the copied files, passes its HEALTHCHECK, exits 0 on SIGTERM", { timeout: 30_000 }, async () => {
    // GIVEN the files the runtime stage copies, its ENV and its CMD; a free port instead of the
    // contract's, and a broker address nobody listens on (liveness must not need the broker)
    const stage = finalStage(instructions(join(ROOT, dockerfileOf(key))));
    const dir = assembleRuntimeStage(stage);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      ...envOf(stage),
      PORT: String(port),
      RABBITMQ_URL: `amqp://nobody:nothing@127.0.0.1:${await freePort()}`,
      LOG_LEVEL: "warn",
    };
    const [command, ...args] = execForm(stage.find((i) => i.keyword === "CMD")!.args);
    const child = spawn(command!, args, { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    try {
      // WHEN the HEALTHCHECK command runs, as docker would, until the start period is over
      const [hcCommand, ...hcArgs] = execForm(stage.find((i) => i.keyword === "HEALTHCHECK")!.args.replace(/^.*?CMD /, ""));
      let healthy = false;
      for (let attempt = 0; attempt < 40 && !healthy && child.exitCode === null; attempt++) {
        try {
          execFileSync(hcCommand!, hcArgs, { cwd: dir, env, stdio: "ignore", timeout: 3_000 });
          healthy = true;
        } catch {
          await sleep(250);
        }
      }

      // THEN it turns healthy, and SIGTERM ends it cleanly
      expect({ healthy, stderr }).toEqual({ healthy: true, stderr: "" });
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
