import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { TerraformStack, TerraformVariable, Testing } from "cdktf";
import { parseTarget } from "../../stacks/config.js";
import { parameterizedBatchJob } from "../../stacks/nomad/batch-job.js";
import type { Job } from "../../stacks/nomad/model.js";
import { escapeForTerraform, NomadJob, renderJobDocument } from "../../stacks/nomad/nomad-job.js";
import { serviceJob, type ServiceJobProps } from "../../stacks/nomad/service-job.js";
import { traefikTagProblems, traefikTags } from "../../stacks/nomad/traefik-tags.js";
import { JobValidationError } from "../../stacks/nomad/validation.js";
import { resourcesOf } from "./support/synth.js";

const baseProps: ServiceJobProps = {
  name: "demo",
  region: "global",
  datacenters: ["dc1"],
  program: { artifact: { kind: "binary", path: "/usr/bin/demo" } },
  ports: [{ label: "http" }],
  services: [{ name: "demo", portLabel: "http", check: { type: "http", path: "/health" } }],
  resources: { cpu: 100, memoryMiB: 64 },
};

const failure = (fn: () => unknown): JobValidationError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof JobValidationError) return error;
    throw error;
  }
  throw new Error("expected a JobValidationError, but the job was built");
};

describe("serviceJob validation", () => {
  test("builds a valid job", () => {
    expect(serviceJob(baseProps).TaskGroups[0]?.Count).toBe(1);
  });

  test("fails if count is out of range, naming prop, rule and value", () => {
    const error = failure(() => serviceJob({ ...baseProps, count: 0 }));
    expect(error.code).toBe("OutOfRange");
    expect(error.message).toContain("`count` must be an integer between 1 and 100, but 0 was provided");
  });

  test("fails if memory is below the minimum", () => {
    const error = failure(() => serviceJob({ ...baseProps, resources: { cpu: 100, memoryMiB: 8 } }));
    expect(error.message).toContain("`resources.memoryMiB` must be an integer between 16 and 65536 MiB, but 8");
  });

  test("fails if the name contains a dot", () => {
    expect(failure(() => serviceJob({ ...baseProps, name: "demo.v2" })).code).toBe("InvalidName");
  });

  test("fails if a route name contains a dot", () => {
    const error = failure(() =>
      serviceJob({
        ...baseProps,
        services: [{ ...baseProps.services[0]!, route: { name: "demo.api", pathPrefix: "/demo", entrypoint: "web" } }],
      }),
    );
    expect(error.code).toBe("InvalidServiceName");
  });

  test("fails if several instances would share a static port", () => {
    const error = failure(() => serviceJob({ ...baseProps, count: 2, ports: [{ label: "http", static: 3000 }] }));
    expect(error.code).toBe("StaticPortWithManyInstances");
    expect(error.message).toContain("http=3000");
  });

  test("fails if a service refers to an undeclared port", () => {
    const error = failure(() =>
      serviceJob({ ...baseProps, services: [{ name: "demo", portLabel: "admin", check: { type: "tcp" } }] }),
    );
    expect(error.code).toBe("UnknownPortLabel");
    expect(error.message).toContain("admin");
  });

  test("fails if credentials are put in plain env", () => {
    const error = failure(() => serviceJob({ ...baseProps, env: { BROKER: "amqp://svc:s3cret@broker:5672/" } }));
    expect(error.code).toBe("SecretInEnv");
    expect(error.message).toContain("BROKER");
    expect(error.message).not.toContain("s3cret");
  });

  test("fails if a Vault-reading template renders outside secrets/", () => {
    const error = failure(() =>
      serviceJob({
        ...baseProps,
        templates: [{ EmbeddedTmpl: '{{ with secret "kv/data/x" }}{{ end }}', DestPath: "local/x.env", ChangeMode: "restart" }],
      }),
    );
    expect(error.code).toBe("VaultSecretOutsideSecretsDir");
  });

  test("fails if the healthy deadline is not longer than the minimum healthy time", () => {
    const error = failure(() =>
      serviceJob({ ...baseProps, lifecycle: { minHealthySeconds: 60, healthyDeadlineSeconds: 30 } }),
    );
    expect(error.code).toBe("HealthyDeadlineTooShort");
  });

  test("fails if the vault block sets both policies and a role", () => {
    const error = failure(() =>
      serviceJob({ ...baseProps, vault: { Policies: ["p"], Role: "r", ChangeMode: "restart" } }),
    );
    expect(error.code).toBe("AmbiguousVault");
  });

  test("fails if a vault role comes without the vault_default identity, naming the task", () => {
    // GIVEN a main task and a poststart task that both log in to Vault with a role
    const vault = { Role: "r", ChangeMode: "restart" } as const;
    const sidecar = {
      Name: "setup",
      Driver: "raw_exec",
      Config: { command: "/bin/true" },
      Resources: { CPU: 50, MemoryMB: 32 },
      Vault: vault,
    };
    const identity = { Name: "vault_default", Audience: ["vault.io"], TTL: 3600e9 };

    // THEN each task without the identity is named
    const error = failure(() => serviceJob({ ...baseProps, vault, identities: [identity], extraTasks: [sidecar] }));
    expect(error.code).toBe("VaultRoleWithoutIdentity");
    expect(error.message).toContain('but "setup" lack it');

    // AND the job builds once every such task has it
    const job = serviceJob({ ...baseProps, vault, identities: [identity], extraTasks: [{ ...sidecar, Identities: [identity] }] });
    expect(job.TaskGroups[0]?.Tasks[0]?.Identities).toEqual([identity]);
  });
});

describe("parameterizedBatchJob validation", () => {
  test("fails if a parameter name cannot become NOMAD_META_<key>", () => {
    const error = failure(() =>
      parameterizedBatchJob({
        name: "campaign",
        region: "global",
        datacenters: ["dc1"],
        program: { artifact: { kind: "binary", path: "/usr/bin/locust" } },
        parameters: { "spawn-rate": "5" },
        resources: { cpu: 100, memoryMiB: 64 },
      }),
    );
    expect(error.code).toBe("InvalidParameterName");
    expect(error.message).toContain('"spawn-rate"');
  });
});

describe("Traefik tags", () => {
  test("the tags of a route pass the schema", () => {
    expect(traefikTagProblems(traefikTags({ name: "order-service", pathPrefix: "/order", entrypoint: "web" }))).toEqual([]);
  });

  test("a route matches its path and what lies below it, not a longer sibling", () => {
    const tags = traefikTags({ name: "order-service", pathPrefix: "/order", entrypoint: "web" });
    expect(tags).toContain("traefik.http.routers.order-service.rule=Path(`/order`) || PathPrefix(`/order/`)");
  });

  test.each([
    ["a bare prefix, which would also route /orders", "PathPrefix(`/order`)"],
    ["two different paths", "Path(`/order`) || PathPrefix(`/payment/`)"],
    ["a host rule", "Host(`example.com`)"],
  ])("fails on a router rule with %s", (_what, rule) => {
    expect(traefikTagProblems(["traefik.enable=true", `traefik.http.routers.x.rule=${rule}`])).toEqual([
      `router rule "${rule}" must be Path(\`/p\`) || PathPrefix(\`/p/\`)`,
    ]);
  });

  test("fails if a router is configured without traefik.enable=true", () => {
    expect(traefikTagProblems(["traefik.http.routers.x.rule=Path(`/x`) || PathPrefix(`/x/`)"])).toEqual([
      'tags configure Traefik but lack "traefik.enable=true", so no router would be built',
    ]);
  });

  test("fails if a key is misspelt", () => {
    expect(traefikTagProblems(["traefik.enable=true", "traefik.http.router.x.rule=Path(`/x`) || PathPrefix(`/x/`)"])).toEqual([
      'tag key "traefik.http.router.x.rule" is not one of the Traefik keys this platform uses',
    ]);
  });

  test("fails if a router name contains a dot", () => {
    expect(traefikTagProblems(["traefik.enable=true", "traefik.http.routers.a.b.rule=Path(`/x`) || PathPrefix(`/x/`)"])).toHaveLength(1);
  });
});

describe("target selection", () => {
  test("defaults to lab", () => {
    expect(parseTarget(undefined)).toBe("lab");
  });

  test("fails if the target is unknown, naming the value", () => {
    expect(() => parseTarget("staging")).toThrow('target must be one of lab, cluster, but "staging" was provided');
  });
});

describe("NomadJob", () => {
  const job = (meta: Record<string, string>): Job => ({
    ...serviceJob({ ...baseProps, env: { DATA: "${NOMAD_ALLOC_DIR}/data" } }),
    Meta: meta,
  });

  test("a reference embedded in the jobspec comes out of synth as a Terraform expression", () => {
    // GIVEN a job whose metadata embeds a reference to a variable
    const synthesized = Testing.synthScope((scope) => {
      const variable = new TerraformVariable(scope, "release", { type: "string" });
      new NomadJob(scope, "demo", { job: job({ release: variable.stringValue }) });
    });

    // WHEN reading the synthesized jobspec
    const jobspec = Object.values(resourcesOf(synthesized, "nomad_job"))[0]?.jobspec as string;

    // THEN the reference is resolved and Nomad's own interpolation is escaped
    expect(jobspec).not.toContain("TfToken");
    expect(jobspec).toContain('"release": "${var.release}"');
    expect(jobspec).toContain('"DATA": "$${NOMAD_ALLOC_DIR}/data"');
  });

  test("Terraform hands Nomad exactly the rendered document", () => {
    // GIVEN a synthesized job with Nomad interpolations and template directives in its strings
    const value = job({ note: "%{not a directive} and ${NOMAD_JOB_NAME}" });
    const app = Testing.app();
    const stack = new TerraformStack(app, "roundtrip");
    new NomadJob(stack, "demo", { job: value });
    const jobspec = Object.values(resourcesOf(Testing.synth(stack), "nomad_job"))[0]?.jobspec as string;

    // WHEN Terraform evaluates that string (an output of a provider-less configuration)
    const dir = mkdtempSync(join(tmpdir(), "orderlab-tf-"));
    try {
      writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ output: { jobspec: { value: jobspec } } }));
      const run = (args: string[]) =>
        execFileSync("terraform", args, {
          cwd: dir,
          encoding: "utf8",
          env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" },
        });
      run(["init", "-input=false", "-backend=false"]);
      run(["apply", "-input=false", "-auto-approve", "-state", join(dir, "state.tfstate")]);
      const output = JSON.parse(run(["output", "-json", "-state", join(dir, "state.tfstate"), "jobspec"])) as string;

      // THEN the evaluated string is the document we rendered, byte for byte
      expect(output).toBe(renderJobDocument(value));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("escapes interpolations and directives but keeps CDKTF markers", () => {
    expect(escapeForTerraform("${A} %{B} ${TfToken[TOKEN.1]} $x {y}")).toBe("$${A} %%{B} ${TfToken[TOKEN.1]} $x {y}");
  });
});
