import { defineConfig } from "vitest/config";

// Six suites, each runnable alone with `vitest run --project <name>`:
//   unit         pure logic, no I/O
//   integration  the services against a real RabbitMQ (each file starts its own node)
//   stacks       CDKTF synthesis and the generated configuration, offline (promtool from Debian)
//   compose      docker-compose.yml and the Dockerfiles, parsed and run without Docker
//   campaign     the load-campaign tooling, and one real smoke campaign (Locust in .venv, own broker)
//   lab          end to end against real Nomad, Consul and Vault agents (npm run test:lab)
// `npm test` runs unit, integration, stacks and compose; campaign and lab have their own
// commands, and .ci/run runs all of them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Tests in this suite stop and freeze the shared broker; run files one at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "stacks",
          include: ["test/stacks/**/*.test.ts"],
          setupFiles: ["test/stacks/setup.ts"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "compose",
          include: ["test/compose/**/*.test.ts"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "campaign",
          include: ["test/campaign/**/*.test.ts"],
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
