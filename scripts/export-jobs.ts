/**
 * Writes every job of a target as `jobs-export/<target>/<name>.nomad.json`, in the form
 * `nomad job run -json` reads (the job under a top-level "Job" key), plus the rendered
 * Prometheus configuration and rule files under `jobs-export/<target>/prometheus/` for promtool.
 *
 *   npm run jobs:export                 both targets
 *   npm run jobs:export -- lab          one target
 *
 * Jobs the target does not deploy (Grafana in the lab) are exported too.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseTarget, settingsFor, TARGETS, type Target } from "../stacks/config.js";
import { renderJobDocument } from "../stacks/nomad/nomad-job.js";
import { allJobs } from "../stacks/platform.js";
import { renderPrometheusConfig, ruleFiles, RULES_DIR } from "../stacks/prometheus-config.js";

const ROOT = fileURLToPath(new URL("../jobs-export/", import.meta.url));

export function exportTarget(target: Target, root = ROOT): string[] {
  const settings = settingsFor(target, process.env);
  const dir = join(root, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "prometheus", RULES_DIR), { recursive: true });

  const written: string[] = [];
  for (const [name, job] of Object.entries(allJobs(settings))) {
    const file = join(dir, `${name}.nomad.json`);
    writeFileSync(file, `${renderJobDocument(job)}\n`);
    written.push(file);
  }

  const prometheusYml = join(dir, "prometheus", "prometheus.yml");
  writeFileSync(prometheusYml, renderPrometheusConfig(settings));
  written.push(prometheusYml);
  for (const rule of ruleFiles()) {
    const file = join(dir, "prometheus", RULES_DIR, rule.name);
    writeFileSync(file, rule.content);
    written.push(file);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const requested = process.argv.slice(2);
  const targets = requested.length > 0 ? requested.map(parseTarget) : [...TARGETS];
  for (const target of targets) {
    for (const file of exportTarget(target)) process.stdout.write(`${file}\n`);
  }
}
