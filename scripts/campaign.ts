/**
 * Load campaigns against the order pipeline, with a report per run.
 *
 *   npm run campaign -- --scenario smoke --target local [--duration 20s] [--out results]
 *   npm run campaign -- --scenario baseline --target lab [--lab-url http://127.0.0.1:18080]
 *   npm run campaign -- compare results/baseline-A results/baseline-B
 *
 * `local` reuses the RabbitMQ answering on --broker-port (else starts one), and starts the
 * services and a Prometheus of its own, all stopped at the end; `lab` only sends load to
 * Traefik and reads its /prometheus. Exit code: 0 pass, 1 a threshold failed, 2 the run broke.
 * See docs/campaigns.md.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { resolve } from "node:path";
import { compareRuns } from "./campaign/compare.js";
import { DEFAULT_LAB_URL, runCampaign } from "./campaign/run.js";
import { CAMPAIGN_SCENARIOS, parseDuration, type ScenarioName } from "./campaign/scenarios.js";
import { REPO_ROOT } from "./lib/paths.js";

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${name} must be a positive integer, but ${value} was provided`);
  return n;
};

const program = new Command("campaign")
  .description("run a Locust scenario against the pipeline and report on it")
  .addOption(new Option("--scenario <name>", "load shape").choices(CAMPAIGN_SCENARIOS))
  .addOption(
    new Option("--target <target>", "where the pipeline runs")
      .choices(["local", "lab"])
      .default("local"),
  )
  .option("--duration <time>", "stretch or shrink the scenario to this length (90, 90s, 5m)")
  .option("--out <dir>", "parent folder of the result folders", "results")
  .option(
    "--broker-port <port>",
    "local: AMQP port of the broker to reuse or start",
    int("--broker-port"),
    5672,
  )
  .option("--lab-url <url>", "lab: Traefik's public URL", DEFAULT_LAB_URL)
  .option("--no-progress", "no progress line while Locust runs")
  .action(
    async (opts: {
      scenario?: ScenarioName;
      target: "local" | "lab";
      duration?: string;
      out: string;
      brokerPort: number;
      labUrl: string;
      progress: boolean;
    }) => {
      // Not a mandatory option in commander's sense: that would be demanded of `compare` as well.
      const scenario = opts.scenario;
      if (scenario === undefined)
        return program.error(`error: --scenario is required (${CAMPAIGN_SCENARIOS.join(", ")})`);
      const durationSeconds =
        opts.duration === undefined ? undefined : parseDuration(opts.duration);
      const { summary } = await runCampaign({
        scenario,
        target: opts.target,
        outDir: resolve(REPO_ROOT, opts.out),
        brokerPort: opts.brokerPort,
        labUrl: opts.labUrl,
        progress: opts.progress,
        ...(durationSeconds === undefined ? {} : { durationSeconds }),
      });
      for (const c of summary.checks)
        console.log(`  ${c.ok ? "pass" : "FAIL"}  ${c.name}: ${c.actual} (limit ${c.limit})`);
      process.exitCode = summary.verdict === "pass" ? 0 : 1;
    },
  );

program
  .command("compare")
  .description("lay two result folders side by side: comparison.png and comparison.md")
  .argument("<dirA>", "first result folder (A)")
  .argument("<dirB>", "second result folder (B)")
  .option("--out <dir>", "parent folder of the comparison folder", "results")
  .action(async (dirA: string, dirB: string, opts: { out: string }) => {
    const { dir, table } = await compareRuns(
      resolve(dirA),
      resolve(dirB),
      resolve(REPO_ROOT, opts.out),
    );
    console.log(table);
    console.log(`\ncomparison written to ${dir}`);
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(`campaign: ${(error as Error).message}`);
  process.exitCode = 2;
}
