/**
 * The campaign scenarios, read from `locust/scenarios.json`: the same file the locustfile builds its
 * load shapes and thresholds from, so the report and Locust's own verdict judge by the same limits.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/paths.js";

export interface Stage {
  /** Seconds this stage lasts. */
  readonly duration: number;
  readonly users: number;
  /** Users started (or stopped) per second to reach `users`. */
  readonly spawn_rate: number;
}

/** Pass/fail limits checked at the end of a run. */
export interface Thresholds {
  /** Failed requests over all requests, 0 to 1. */
  readonly max_failure_ratio: number;
  /** p95 of valid `POST /order`, client side, in milliseconds. */
  readonly max_order_p95_ms: number;
  /** p95 of order-to-notification, client side, in milliseconds. */
  readonly max_e2e_p95_ms: number;
}

export interface Scenario {
  readonly description: string;
  readonly stages: readonly Stage[];
  readonly thresholds: Thresholds;
}

/** Scenarios a campaign runs; `manual` (no shape) exists for Locust's web UI and the Nomad job only. */
export const CAMPAIGN_SCENARIOS = ["smoke", "baseline", "step", "spike", "soak"] as const;
export type ScenarioName = (typeof CAMPAIGN_SCENARIOS)[number];

export const SCENARIOS_FILE = join(REPO_ROOT, "locust", "scenarios.json");

export function loadScenarios(file = SCENARIOS_FILE): Record<string, Scenario> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, Scenario>;
}

export function isScenarioName(name: string): name is ScenarioName {
  return (CAMPAIGN_SCENARIOS as readonly string[]).includes(name);
}

/** Seconds the scenario's stages last in total. */
export function scenarioSeconds(scenario: Scenario): number {
  return scenario.stages.reduce((sum, stage) => sum + stage.duration, 0);
}

/**
 * Parses a duration such as `90`, `90s`, `5m` or `1h30m` into seconds.
 * Throws a message naming the value when it cannot be read or is not positive.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return positive(Number(trimmed), text);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== trimmed) {
    throw new Error(
      `--duration must look like 90, 90s, 5m or 1h30m, but ${JSON.stringify(text)} was provided`,
    );
  }
  const unit = { h: 3600, m: 60, s: 1 } as const;
  return positive(
    parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0),
    text,
  );
}

function positive(seconds: number, text: string): number {
  if (!(seconds > 0))
    throw new Error(`--duration must be positive, but ${JSON.stringify(text)} was provided`);
  return seconds;
}
