/**
 * The lab applier's reading of synthesized stacks, offline: Terraform's string escapes and
 * variables, stack order, and the refusal of resource types it cannot apply.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { describe, expect, test } from "vitest";
import { settingsFor, type Target } from "../../stacks/config.js";
import { buildPlatform } from "../../stacks/platform.js";
import { UnsupportedResourceError, loadResources, stacksInOrder } from "../../scripts/lab/apply.js";
import { referencesIn, terraformString } from "../../scripts/lab/expressions.js";

function synth(target: Target): string {
  const outdir = mkdtempSync(join(tmpdir(), `orderlab-apply-${target}-`));
  const app = new App({ outdir });
  buildPlatform(app, settingsFor(target, { ORDERLAB_REPO_DIR: "/srv/orderlab" }));
  app.synth();
  return outdir;
}

const PASSWORDS = Object.fromEntries(
  ["grafana_admin", "rabbitmq_orderlab_admin", "rabbitmq_order_service", "rabbitmq_payment_service", "rabbitmq_notification_service"].map(
    (name) => [`${name}_password`, `pw-${name}`],
  ),
);

describe("terraformString", () => {
  test("undoes the $${ and %%{ escapes and substitutes variables", () => {
    expect(terraformString("a $${NOMAD_TASK_DIR} %%{x} ${var.p}", { p: "v" }, "t")).toBe("a ${NOMAD_TASK_DIR} %{x} v");
  });

  test("evaluates jsonencode of strings and variables, and references to another resource's arguments", () => {
    const reference = (type: string, name: string, attribute: string) =>
      type === "vault_mount" && name === "kv" && attribute === "path" ? "orderlab" : undefined;
    const encoded = terraformString('${jsonencode({"username" = "a \\"b\\"", "password" = var.p})}', { p: 'p"w}' }, "t");
    expect(JSON.parse(encoded)).toEqual({ username: 'a "b"', password: 'p"w}' });
    expect(terraformString("${vault_mount.kv.path}/data", {}, "t", reference)).toBe("orderlab/data");
  });

  test("refuses expressions only Terraform could evaluate, unknown references and unset variables", () => {
    expect(() => terraformString('${jsonencode({"a" = 1})}', {}, "here")).toThrow(/here: cannot evaluate the Terraform expression \$\{1\}/);
    expect(() => terraformString("${upper(var.p)}", { p: "x" }, "here")).toThrow(/here: cannot evaluate the Terraform expression/);
    expect(() => terraformString("${vault_mount.other.path}", {}, "here")).toThrow("here: ${vault_mount.other.path} names no argument");
    expect(() => terraformString("${var.missing}", {}, "here")).toThrow('here: variable "missing" has no value; set TF_VAR_missing');
    expect(() => terraformString('${jsonencode({"a" = "${var.x}"})}', { x: "v" }, "here")).toThrow("here: a template inside an expression");
  });

  test("finds references with the spacing Terraform allows, and not variables", () => {
    expect(referencesIn("${ vault_mount.kv.path }/data ${vault_policy.p-1.name} ${var.x}")).toEqual(["vault_mount.kv", "vault_policy.p-1"]);
  });
});

describe("the lab target", () => {
  const out = synth("lab");

  test("applies platform first and the services after the broker", () => {
    const order = stacksInOrder(out).map((s) => s.name);
    expect(order[0]).toBe("orderlab-lab-platform");
    expect(order.indexOf("orderlab-lab-services")).toBeGreaterThan(order.indexOf("orderlab-lab-messaging"));
    expect(order.indexOf("orderlab-lab-loadtest")).toBeGreaterThan(order.indexOf("orderlab-lab-gateway"));
  });

  test("reads only types the applier knows, with Nomad's own ${...} intact and the passwords substituted", () => {
    const resources = loadResources(out, PASSWORDS);
    const types = [...new Set(resources.map((r) => r.type))].sort();
    expect(types).toEqual([
      "consul_config_entry",
      "consul_config_entry_service_intentions",
      "nomad_job",
      "vault_jwt_auth_backend",
      "vault_jwt_auth_backend_role",
      "vault_kv_secret_v2",
      "vault_mount",
      "vault_policy",
    ]);
    type JobDoc = { Job: { ID: string; TaskGroups: { Tasks: { Env?: Record<string, string> }[] }[] } };
    const jobs = resources
      .filter((r) => r.type === "nomad_job")
      .map((r) => (JSON.parse(String(r.attributes.jobspec)) as JobDoc).Job);
    const payment = jobs.find((j) => j.ID === "payment-service");
    expect(payment?.TaskGroups[0]!.Tasks[0]!.Env?.PAYMENT_JOURNAL).toBe("${NOMAD_ALLOC_DIR}/data/payments.jsonl");
    const secret = resources.find((r) => r.type === "vault_kv_secret_v2" && r.attributes.name === "rabbitmq/order-service");
    expect(secret?.attributes).toMatchObject({ mount: "orderlab" });
    expect(JSON.parse(String(secret?.attributes.data_json))).toEqual({ username: "order-service", password: "pw-rabbitmq_order_service" });
    const role = resources.find((r) => r.type === "vault_jwt_auth_backend_role" && r.attributes.role_name === "nomad-order-service");
    expect(role?.attributes).toMatchObject({ backend: "jwt-nomad", token_policies: ["order-service-read"] });
  });

  test("orders a stack's resources after those they refer to", () => {
    const platform = loadResources(out, PASSWORDS).filter((r) => r.stack === "orderlab-lab-platform");
    const first = (type: string) => platform.findIndex((r) => r.type === type);
    const last = (type: string) => platform.map((r) => r.type as string).lastIndexOf(type);
    expect(first("vault_kv_secret_v2")).toBeGreaterThan(first("vault_mount"));
    expect(first("vault_jwt_auth_backend_role")).toBeGreaterThan(last("vault_jwt_auth_backend"));
    expect(first("vault_jwt_auth_backend_role")).toBeGreaterThan(first("vault_policy"));
  });

  test("refuses to apply without every declared variable", () => {
    const { rabbitmq_payment_service_password: _omitted, ...partial } = PASSWORDS;
    expect(() => loadResources(out, partial)).toThrow('variable "rabbitmq_payment_service_password" has no value');
  });
});

describe("other resources", () => {
  test("a stack with an unknown resource type names it", () => {
    const out = mkdtempSync(join(tmpdir(), "orderlab-apply-unknown-"));
    mkdirSync(join(out, "stacks", "s"), { recursive: true });
    writeFileSync(join(out, "manifest.json"), JSON.stringify({ stacks: { s: { name: "s", dependencies: [], synthesizedStackPath: "stacks/s/cdk.tf.json" } } }));
    writeFileSync(join(out, "stacks", "s", "cdk.tf.json"), JSON.stringify({ resource: { nomad_acl_policy: { p: { name: "x" } } } }));
    expect(() => loadResources(out, {})).toThrow(UnsupportedResourceError);
    expect(() => loadResources(out, {})).toThrow("the lab applier does not apply these resource types: nomad_acl_policy (s: p)");
  });
});
