import { describe, expect, test } from "vitest";
import { job as nomadJob } from "@cdktf/provider-nomad";
import { OPERATIONAL_PATHS, RABBITMQ, SERVICES } from "../../contract/index.js";
import { TARGETS, type Target } from "../../stacks/config.js";
import type { Job, Service, Task } from "../../stacks/nomad/model.js";
import { traefikTagProblems, TRAEFIK_ENABLE_TAG } from "../../stacks/nomad/traefik-tags.js";
import { PLATFORM, PUBLIC_ROUTES } from "../../stacks/topology.js";
import { synthTarget, TEST_REPO_DIR } from "./support/synth.js";

const APP = Object.values(SERVICES);
const LONG_RUNNING = [PLATFORM.rabbitmq, ...APP.map((s) => s.name), PLATFORM.traefik, PLATFORM.prometheus];
const DEPLOYED: Record<Target, string[]> = {
  lab: [...LONG_RUNNING, PLATFORM.locust],
  cluster: [...LONG_RUNNING, PLATFORM.grafana, PLATFORM.locust],
};
const EXPECTED_DRIVER: Record<Target, string> = { lab: "raw_exec", cluster: "docker" };

/** How a job's templates look up one secret in Vault's KV v2 mount. */
const secretLookup = (secret: string): string[] => [`secret "orderlab/data/${secret}"`, ".Data.data.username", ".Data.data.password"];

const targets = Object.fromEntries(TARGETS.map((t) => [t, synthTarget(t)])) as Record<Target, ReturnType<typeof synthTarget>>;

const group = (job: Job) => {
  expect(job.TaskGroups).toHaveLength(1);
  return job.TaskGroups[0]!;
};
const mainTask = (job: Job): Task => group(job).Tasks.find((t) => t.Name === job.Name)!;
/** The identity Nomad 1.7+ logs a task in to Vault with; the JWT roles are bound to its audience. */
const VAULT_IDENTITY = { Name: "vault_default", Audience: ["vault.io"], TTL: 3600e9 };
const services = (t: Target): Service[] =>
  Object.values(targets[t].jobs).flatMap((job) => job.TaskGroups.flatMap((g) => g.Services ?? []));

describe.each(TARGETS)("%s target", (target) => {
  const { jobs, jobResources, json } = targets[target];

  test("registers exactly the jobs the target deploys", () => {
    expect(Object.keys(jobs).sort()).toEqual([...DEPLOYED[target]].sort());
  });

  test("every nomad_job is JSON, purged and deregistered on destroy", () => {
    for (const [id, resource] of Object.entries(jobResources)) {
      expect({ id, ...resource }).toMatchObject({ id, json: true, purge_on_destroy: true, deregister_on_destroy: true });
    }
    expect(json.services).toHaveResourceWithProperties(nomadJob.Job, {
      json: true,
      purge_on_destroy: true,
      deregister_on_destroy: true,
    });
  });

  test("every task runs under the target's driver", () => {
    for (const job of Object.values(jobs)) {
      for (const task of job.TaskGroups.flatMap((g) => g.Tasks)) {
        expect({ job: job.ID, task: task.Name, driver: task.Driver }).toEqual({
          job: job.ID,
          task: task.Name,
          driver: EXPECTED_DRIVER[target],
        });
      }
    }
  });

  test("no CDKTF token survives synthesis as text", () => {
    for (const text of Object.values(json)) {
      expect(text).not.toMatch(/TfToken|\$\{Token\[/);
    }
  });

  test.each(APP)("$name has an HTTP /health check, a public route, metrics and its environment", (svc) => {
    // GIVEN the synthesized service job
    const job = jobs[svc.name]!;
    const g = group(job);
    const task = mainTask(job);

    // THEN Consul checks /health over HTTP
    expect(g.Services).toHaveLength(1);
    const registration = g.Services![0]!;
    expect(registration).toMatchObject({ Name: svc.name, Provider: "consul", PortLabel: "http" });
    expect(registration.Checks).toEqual([
      expect.objectContaining({ Type: "http", Path: OPERATIONAL_PATHS.health, Interval: 10e9, Timeout: 3e9 }),
    ]);

    // AND Traefik routes its prefix on the web entrypoint
    expect(registration.Tags).toEqual(
      expect.arrayContaining([
        TRAEFIK_ENABLE_TAG,
        `traefik.http.routers.${svc.name}.rule=Path(\`${svc.route}\`) || PathPrefix(\`${svc.route}/\`)`,
        `traefik.http.routers.${svc.name}.entrypoints=web`,
        "metrics",
      ]),
    );

    // AND the environment carries the tuning but never the broker URL
    expect(Object.keys(task.Env ?? {}).sort()).toEqual(
      [
        "HOST",
        "PORT",
        "LOG_LEVEL",
        "PREFETCH",
        "MAX_RETRIES",
        "RETRY_DELAY_MS",
        "PUBLISH_TIMEOUT_MS",
        ...(svc.name === SERVICES.payment.name
          ? ["PAYMENT_LATENCY_MS", "PAYMENT_DECLINE_RATE", "PAYMENT_SEED", "PAYMENT_JOURNAL"]
          : []),
      ].sort(),
    );
    expect(task.Env?.PORT).toBe(String(svc.port));
    if (svc.name === SERVICES.payment.name) {
      // the journal outlives a task restart: it is in the allocation's shared data dir
      expect(task.Env?.PAYMENT_JOURNAL).toBe("${NOMAD_ALLOC_DIR}/data/payments.jsonl");
    }

    // AND RABBITMQ_URL comes from the secrets store and Consul through an env template under secrets/
    const env = task.Templates?.find((t) => t.Envvars);
    expect(env?.DestPath).toBe("secrets/rabbitmq.env");
    expect(env?.Perms).toBe("0600");
    for (const part of secretLookup(`rabbitmq/${svc.name}`)) expect(env?.EmbeddedTmpl).toContain(part);
    expect(env?.EmbeddedTmpl).not.toContain("nomadVar");
    expect(env?.EmbeddedTmpl).toContain('service "amqp.rabbitmq"');
    expect(env?.EmbeddedTmpl).toContain("RABBITMQ_URL=amqp://");
  });

  test.each(APP)("$name has resources, restart, reschedule and a health-gated rolling update", (svc) => {
    const job = jobs[svc.name]!;
    const g = group(job);
    expect(mainTask(job).Resources).toEqual({ CPU: 200, MemoryMB: 256 });
    expect(g.RestartPolicy).toEqual({ Attempts: 3, Interval: 300e9, Delay: 10e9, Mode: "fail" });
    expect(g.ReschedulePolicy).toMatchObject({ DelayFunction: "exponential", Unlimited: true, Delay: 15e9 });
    expect(g.Update).toEqual({
      MaxParallel: 1,
      HealthCheck: "checks",
      MinHealthyTime: 10e9,
      HealthyDeadline: 120e9,
      ProgressDeadline: 600e9,
      AutoRevert: true,
    });
  });

  test("every Traefik-enabled registration is a public route and every public route is enabled", () => {
    const enabled = services(target)
      .filter((s) => s.Tags?.includes(TRAEFIK_ENABLE_TAG))
      .map((s) => s.Name)
      .sort();
    const expected = PUBLIC_ROUTES.map((r) => r.service)
      .filter((name) => jobs[name] !== undefined)
      .sort();
    expect(enabled).toEqual(expected);
  });

  test("Traefik tags follow the schema and router names have no dots", () => {
    for (const s of services(target)) {
      expect({ service: s.Name, problems: traefikTagProblems(s.Tags ?? []) }).toEqual({ service: s.Name, problems: [] });
      for (const tag of s.Tags ?? []) {
        // the name is everything between `routers.`/`services.` and the option key, dots included
        const key = tag.split("=")[0]!;
        if (!key.startsWith("traefik.http.")) continue;
        const named = /^traefik\.http\.(?:routers|services)\.(.+)\.(?:rule|entrypoints|service|middlewares|priority|loadbalancer\..+)$/.exec(key);
        expect({ tag, name: named?.[1] }).toEqual({ tag, name: expect.stringMatching(/^[a-z0-9-]+$/) });
        // with no services.* tags, Traefik's only service for a registration is named after it
        if (/^traefik\.http\.routers\.[^=]+\.service$/.test(key)) expect(tag).toBe(`${key}=${s.Name}`);
      }
    }
  });

  test("the vault block follows the target's secrets store and integration mode", () => {
    for (const name of [...APP.map((s) => s.name), ...(jobs[PLATFORM.grafana] ? [PLATFORM.grafana] : [])]) {
      const { Vault: vault, Identities: identities } = mainTask(jobs[name]!);
      expect({ name, vault, identities }).toEqual({
        name,
        vault: { Role: `nomad-${name}`, ChangeMode: "restart" },
        // a role alone gets no token: Nomad logs in with the vault_default identity
        identities: [VAULT_IDENTITY],
      });
    }
  });

  test("RabbitMQ registers AMQP and the per-object Prometheus endpoint and provisions accounts", () => {
    // GIVEN the broker job
    const job = jobs[PLATFORM.rabbitmq]!;
    const g = group(job);

    // THEN the Prometheus plugin is enabled and its port registered for scraping
    const main = mainTask(job);
    const plugins = main.Templates?.find((t) => t.DestPath === "local/enabled_plugins");
    expect(plugins?.EmbeddedTmpl).toContain("rabbitmq_prometheus");
    // the lab keeps off RabbitMQ's default ports, so a development broker can run beside it
    const ports = target === "lab" ? { amqp: 5682, prometheus: 15702 } : { amqp: RABBITMQ.amqpPort, prometheus: RABBITMQ.prometheusPort };
    expect(g.Networks?.[0]?.ReservedPorts).toEqual(
      expect.arrayContaining([
        { Label: "amqp", Value: ports.amqp },
        { Label: "prometheus", Value: ports.prometheus },
      ]),
    );
    expect(g.Services).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Name: "rabbitmq", PortLabel: "amqp", Tags: ["amqp"] }),
        expect.objectContaining({
          Name: "rabbitmq",
          PortLabel: "prometheus",
          Tags: ["metrics"],
          Meta: { metrics_path: "/metrics/per-object" },
        }),
      ]),
    );

    // AND a poststart task creates the accounts from an env file rendered from the secrets store
    const provision = g.Tasks.find((t) => t.Lifecycle?.Hook === "poststart");
    expect(provision?.Lifecycle).toEqual({ Hook: "poststart", Sidecar: false });
    const accounts = provision?.Templates?.find((t) => t.Envvars);
    expect(accounts?.DestPath).toBe("secrets/accounts.env");
    for (const name of ["orderlab-admin", ...APP.map((s) => s.name)]) {
      for (const part of secretLookup(`rabbitmq/${name}`)) {
        expect(accounts?.EmbeddedTmpl).toContain(part);
      }
    }
    const script = provision?.Templates?.find((t) => t.DestPath === "local/provision-users.sh");
    expect(script?.EmbeddedTmpl).toContain("add_user");
    expect(script?.EmbeddedTmpl).toContain("set_permissions");
    expect(script?.EmbeddedTmpl).toContain("delete_user guest");
    expect(provision?.Vault).toEqual({ Role: "nomad-rabbitmq", ChangeMode: "restart" });
    expect(provision?.Identities).toEqual([VAULT_IDENTITY]);
  });

  test("Locust is a parameterized batch job that runs a headless campaign", () => {
    const job = jobs[PLATFORM.locust]!;
    expect(job.Type).toBe("batch");
    expect(job.ParameterizedJob).toEqual({ Payload: "forbidden", MetaOptional: ["run_time", "spawn_rate", "users"] });
    const args = mainTask(job).Config.args as string[];
    expect(args.slice(0, 3)).toEqual(["-f", expect.stringMatching(/locust\/locustfile\.py$/), "--headless"]);
    expect(args).toEqual(expect.arrayContaining(["${NOMAD_META_users}", "${NOMAD_META_spawn_rate}"]));
  });

  test("Prometheus is served under /prometheus and ships its config and rules through templates", () => {
    const job = jobs[PLATFORM.prometheus]!;
    const task = mainTask(job);
    const args = task.Config.args as string[];
    expect(args).toEqual(expect.arrayContaining(["--web.route-prefix=/prometheus"]));
    expect(args.find((a) => a.startsWith("--web.external-url="))).toMatch(/\/prometheus\/$/);
    const dests = (task.Templates ?? []).map((t) => t.DestPath).sort();
    expect(dests).toEqual(
      [
        "local/prometheus.yml",
        "local/rules/http.yml",
        "local/rules/messaging.yml",
        // Debian's Prometheus has no Consul discovery: the lab renders a file_sd file from Consul.
        ...(target === "lab" ? ["local/targets/consul.yml"] : []),
      ].sort(),
    );
  });

  test("Traefik reads Consul Catalog with exposedByDefault off and listens on the configured entrypoint", () => {
    const args = mainTask(jobs[PLATFORM.traefik]!).Config.args as string[];
    const port = target === "lab" ? 18080 : 80;
    expect(args).toEqual(
      expect.arrayContaining([
        "--providers.consulcatalog=true",
        "--providers.consulcatalog.exposedbydefault=false",
        expect.stringMatching(new RegExp(`^--entrypoints\\.web\\.address=.*:${port}$`)),
      ]),
    );
  });
});

describe("lab target", () => {
  const { jobs, settings } = targets.lab;

  test("services run this checkout's entrypoints with tsx", () => {
    for (const svc of APP) {
      expect(mainTask(jobs[svc.name]!).Config).toEqual({
        command: `${TEST_REPO_DIR}/node_modules/.bin/tsx`,
        args: [`${TEST_REPO_DIR}/services/${svc.name}/main.ts`],
      });
    }
  });

  test("Grafana is declared but not deployed", () => {
    expect(settings.grafana.deploy).toBe(false);
    expect(jobs[PLATFORM.grafana]).toBeUndefined();
    expect(targets.lab.stacks.observability.grafana).toBeUndefined();
  });

  test("everything binds to the loopback", () => {
    for (const svc of APP) expect(mainTask(jobs[svc.name]!).Env?.HOST).toBe("127.0.0.1");
  });
});

describe("cluster target", () => {
  const { jobs } = targets.cluster;

  test("services run their versioned images from the registry on dynamic ports", () => {
    for (const svc of APP) {
      const job = jobs[svc.name]!;
      expect(mainTask(job).Config).toEqual({
        image: `registry.example.internal/nomad-order-lab/${svc.name}:0.1.0`,
        ports: ["http"],
      });
      expect(group(job).Networks).toEqual([{ Mode: "host", DynamicPorts: [{ Label: "http", To: svc.port }] }]);
      expect(group(job).Count).toBe(2);
    }
  });

  test("Grafana is served under /grafana from its sub-path with provisioned dashboards", () => {
    const task = mainTask(jobs[PLATFORM.grafana]!);
    expect(task.Env).toMatchObject({
      GF_SERVER_ROOT_URL: "http://orderlab.example.internal/grafana/",
      GF_SERVER_SERVE_FROM_SUB_PATH: "true",
    });
    const dests = (task.Templates ?? []).map((t) => t.DestPath);
    expect(dests).toEqual(
      expect.arrayContaining([
        "secrets/grafana.env",
        "local/provisioning/datasources/prometheus.yml",
        "local/provisioning/dashboards/orderlab.yml",
        "local/dashboards/services.json",
        "local/dashboards/messaging.json",
      ]),
    );
  });
});
