import { describe, expect, test } from "vitest";
import { configEntryServiceIntentions } from "@cdktf/provider-consul";
import { variable as nomadVariable } from "@cdktf/provider-nomad";
import { policy } from "@cdktf/provider-vault";
import { TARGETS } from "../../stacks/config.js";
import { resourcesOf, synthTarget } from "./support/synth.js";

/** The allowed graph, written out independently of topology.ts. */
const EXPECTED_ALLOWED = [
  "traefik -> order-service",
  "traefik -> payment-service",
  "traefik -> notification-service",
  "traefik -> prometheus",
  "traefik -> grafana",
  "order-service -> rabbitmq",
  "payment-service -> rabbitmq",
  "notification-service -> rabbitmq",
  "prometheus -> order-service",
  "prometheus -> payment-service",
  "prometheus -> notification-service",
  "prometheus -> rabbitmq",
  "grafana -> prometheus",
].sort();

interface IntentionSource {
  name: string;
  action: string;
}

describe.each(TARGETS)("%s target", (target) => {
  const synthesized = synthTarget(target);
  const platformJson = synthesized.json.platform;

  test("intentions allow exactly the declared graph", () => {
    // GIVEN every intentions config entry
    const entries = Object.values(resourcesOf(platformJson, "consul_config_entry_service_intentions"));

    // WHEN flattening them to source -> destination pairs
    const allowed = entries.flatMap((e) =>
      (e.sources as IntentionSource[]).filter((s) => s.action === "allow").map((s) => `${s.name} -> ${e.name as string}`),
    );

    // THEN the set of pairs is exactly the expected graph
    expect(allowed.sort()).toEqual(EXPECTED_ALLOWED);
  });

  test("every destination denies sources it does not list, and everything else is denied", () => {
    const entries = Object.values(resourcesOf(platformJson, "consul_config_entry_service_intentions"));
    for (const entry of entries) {
      expect(entry.sources).toEqual(expect.arrayContaining([expect.objectContaining({ name: "*", action: "deny" })]));
    }
    expect(platformJson).toHaveResourceWithProperties(configEntryServiceIntentions.ConfigEntryServiceIntentions, {
      name: "*",
      sources: [{ name: "*", action: "deny", description: "default deny" }],
    });
  });

  test("HTTP services default to the http protocol", () => {
    const defaults = Object.values(resourcesOf(platformJson, "consul_config_entry"));
    const http = defaults
      .filter((d) => d.kind === "service-defaults" && String(d.config_json).includes('"http"'))
      .map((d) => d.name)
      .sort();
    expect(http).toEqual(["grafana", "notification-service", "order-service", "payment-service", "prometheus"]);
  });

  test("HTTP services default to the http protocol in plain JSON", () => {
    for (const entry of Object.values(resourcesOf(platformJson, "consul_config_entry"))) {
      // a JSON literal, not a Terraform expression: the lab's applier sends it as it is
      expect(JSON.parse(String(entry.config_json))).toEqual({ Protocol: expect.stringMatching(/^(http|tcp)$/) });
    }
  });

  test("credentials come from sensitive variables without defaults", () => {
    const parsed = JSON.parse(platformJson) as { variable: Record<string, Record<string, unknown>> };
    const variables = Object.entries(parsed.variable);
    expect(variables.map(([name]) => name).sort()).toEqual(
      [
        "grafana_admin_password",
        "rabbitmq_notification_service_password",
        "rabbitmq_order_service_password",
        "rabbitmq_orderlab_admin_password",
        "rabbitmq_payment_service_password",
      ].sort(),
    );
    for (const [name, variable] of variables) {
      expect({ name, sensitive: variable.sensitive, hasDefault: "default" in variable }).toEqual({
        name,
        sensitive: true,
        hasDefault: false,
      });
    }
  });

  test("no password-like literal appears anywhere in the synthesized JSON", () => {
    for (const text of Object.values(synthesized.json)) {
      // key/value pairs that would carry a secret in clear
      expect(text).not.toMatch(/"(password|secret|token|secret_id)"\s*:\s*"[^"$]/i);
      // item keys ending in _password must hold a variable reference
      expect(text).not.toMatch(/_password"\s*:\s*"[^"$]/i);
      // credentials embedded in a URL
      expect(text).not.toMatch(/[a-z]+:\/\/[^/\s:@"{}]+:[^@\s"{}]+@/i);
      // env lines with a literal value for a secret
      expect(text).not.toMatch(/PASSWORD=[^{\\]/);
    }
  });

  test("providers take addresses from settings and no token", () => {
    const parsed = JSON.parse(platformJson) as { provider: Record<string, Record<string, unknown>[]> };
    expect(parsed.provider.consul).toEqual([{ address: "127.0.0.1:8500" }]);
    expect(parsed.provider.vault).toEqual([{ address: "http://127.0.0.1:8200" }]);
  });
});

describe.each(TARGETS)("%s target: Vault", (target) => {
  const synthesized = synthTarget(target);
  const platformJson = synthesized.json.platform;
  const kvMount = synthesized.settings.vault.kvMount;

  test("every Vault policy grants read on its own secrets only", () => {
    // GIVEN the job -> secrets each policy should cover
    const expected: Record<string, string[]> = {
      "order-service-read": [`${kvMount}/data/rabbitmq/order-service`],
      "payment-service-read": [`${kvMount}/data/rabbitmq/payment-service`],
      "notification-service-read": [`${kvMount}/data/rabbitmq/notification-service`],
      "rabbitmq-read": ["orderlab-admin", "order-service", "payment-service", "notification-service"].map(
        (a) => `${kvMount}/data/rabbitmq/${a}`,
      ),
      "grafana-read": [`${kvMount}/data/grafana/admin`],
    };

    // WHEN parsing the synthesized policies
    const policies = Object.values(resourcesOf(platformJson, "vault_policy"));
    const parsed = Object.fromEntries(
      policies.map((p) => {
        const text = p.policy as string;
        const paths = [...text.matchAll(/path "([^"]+)"\s*\{\s*capabilities = \[([^\]]*)\]\s*\}/g)];
        // every path block is understood by the pattern above
        expect(paths).toHaveLength((text.match(/path "/g) ?? []).length);
        for (const [, , capabilities] of paths) expect(capabilities?.trim()).toBe('"read"');
        return [p.name as string, paths.map(([, path]) => path).sort()];
      }),
    );

    // THEN each policy names exactly its paths, read only, with no wildcard
    expect(parsed).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, [...v].sort()])));
    expect(policies.map((p) => p.policy).join("\n")).not.toMatch(/[*+]/);
    expect(platformJson).toHaveResourceWithProperties(policy.Policy, { name: "order-service-read" });
  });

  test("each credential is a KV v2 secret built from its variable", () => {
    const secrets = Object.values(resourcesOf(platformJson, "vault_kv_secret_v2"));
    expect(secrets).toHaveLength(5);
    for (const secret of secrets) {
      expect(secret.data_json).toMatch(/^\$\{jsonencode\(\{"username" = "[a-z-]+", "password" = var\.[a-z_]+_password\}\)\}$/);
    }
  });

  test("the JWT backend trusts Nomad's JWKS and each reading job has a role bound to it", () => {
    const backends = Object.values(resourcesOf(platformJson, "vault_jwt_auth_backend"));
    expect(backends).toEqual([
      expect.objectContaining({
        path: "jwt-nomad",
        type: "jwt",
        jwks_url: `${synthesized.settings.nomadAddress}/.well-known/jwks.json`,
      }),
    ]);
    const roles = Object.values(resourcesOf(platformJson, "vault_jwt_auth_backend_role"));
    expect(roles.map((r) => r.role_name).sort()).toEqual(
      ["nomad-grafana", "nomad-notification-service", "nomad-order-service", "nomad-payment-service", "nomad-rabbitmq"].sort(),
    );
    for (const role of roles) {
      const job = String(role.role_name).replace(/^nomad-/, "");
      expect(role).toMatchObject({
        bound_audiences: ["vault.io"],
        bound_claims: { nomad_namespace: "default", nomad_job_id: job },
        user_claim: "/nomad_job_id",
        role_type: "jwt",
      });
    }
  });
});

describe("the nomad-variables secrets store, for a Nomad without Vault", () => {
  const synthesized = synthTarget("lab", { secretsStore: "nomad-variables" });
  const platformJson = synthesized.json.platform;

  test("declares no Vault resource or provider", () => {
    const parsed = JSON.parse(platformJson) as { resource: Record<string, unknown>; provider: Record<string, unknown> };
    expect(Object.keys(parsed.resource).filter((type) => type.startsWith("vault_"))).toEqual([]);
    expect(parsed.provider.vault).toBeUndefined();
    expect(parsed.provider.nomad).toEqual([{ address: "http://127.0.0.1:4646", region: "global" }]);
  });

  test("its tasks read Nomad Variables and carry no vault block", () => {
    for (const text of Object.values(synthesized.json)) {
      expect(text).not.toMatch(/"(Vault|Identities)"\s*:/);
      expect(text).not.toContain('secret \\"');
    }
    const env = synthesized.jobs["order-service"]!.TaskGroups[0]!.Tasks[0]!.Templates!.find((t) => t.Envvars);
    expect(env?.EmbeddedTmpl).toContain('nomadVar "nomad/jobs/order-service"');
  });

  test("each reading job has one variable at nomad/jobs/<job> holding exactly its own credentials", () => {
    // GIVEN every nomad_variable
    const variables = Object.values(resourcesOf(platformJson, "nomad_variable"));

    // THEN one per job that reads a credential, each with only the accounts it needs
    const byPath = Object.fromEntries(variables.map((v) => [v.path as string, v.items as Record<string, string>]));
    const account = (name: string) => {
      const key = `rabbitmq_${name.replace(/-/g, "_")}`;
      return { [`${key}_username`]: name, [`${key}_password`]: `\${var.${key}_password}` };
    };
    expect(byPath).toEqual({
      "nomad/jobs/order-service": account("order-service"),
      "nomad/jobs/payment-service": account("payment-service"),
      "nomad/jobs/notification-service": account("notification-service"),
      // the broker creates every account, so its variable holds all of them
      "nomad/jobs/rabbitmq": {
        ...account("orderlab-admin"),
        ...account("order-service"),
        ...account("payment-service"),
        ...account("notification-service"),
      },
      "nomad/jobs/grafana": {
        grafana_admin_username: "orderlab-admin",
        grafana_admin_password: "${var.grafana_admin_password}",
      },
    });
    for (const v of variables) expect(v.namespace).toBe("default");
    expect(platformJson).toHaveResourceWithProperties(nomadVariable.Variable, { path: "nomad/jobs/order-service" });
  });
});
