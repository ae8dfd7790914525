/**
 * The Python side of the load campaigns: `.venv/` (git-ignored) with Locust from PyPI, as pinned
 * by `locust/requirements.txt`.
 *
 *   npm run locust:env        creates or updates .venv, then prints where locust is
 *
 * Idempotent and quick when nothing changed: the hash of requirements.txt is kept in
 * `.venv/.orderlab-requirements.sha256`, and pip runs only when it differs.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./lib/paths.js";

const run = promisify(execFile);

export const VENV_DIR = join(REPO_ROOT, ".venv");
export const LOCUST_BIN = join(VENV_DIR, "bin", "locust");
export const VENV_PYTHON = join(VENV_DIR, "bin", "python");
export const REQUIREMENTS = join(REPO_ROOT, "locust", "requirements.txt");
const STAMP = join(VENV_DIR, ".orderlab-requirements.sha256");

export interface LocustEnv {
  readonly locust: string;
  readonly python: string;
  readonly version: string;
  /** False when the venv was already up to date. */
  readonly changed: boolean;
}

/** Makes sure `.venv` holds the pinned Locust; returns where it is. */
export async function ensureLocustEnv(
  log: (line: string) => void = () => undefined,
): Promise<LocustEnv> {
  const wanted = createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex");
  const current = existsSync(STAMP) ? readFileSync(STAMP, "utf8").trim() : undefined;
  let changed = false;

  if (current !== wanted || !existsSync(LOCUST_BIN)) {
    if (!existsSync(VENV_PYTHON)) {
      log(`locust-env: creating ${VENV_DIR} (python3 -m venv)`);
      await run("python3", ["-m", "venv", VENV_DIR], { timeout: 120_000 });
    }
    log(`locust-env: installing ${REQUIREMENTS} from PyPI`);
    await run(
      VENV_PYTHON,
      ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", REQUIREMENTS],
      {
        timeout: 600_000,
      },
    );
    writeFileSync(STAMP, `${wanted}\n`);
    changed = true;
  }

  const { stdout } = await run(LOCUST_BIN, ["--version"], { timeout: 60_000 });
  return { locust: LOCUST_BIN, python: VENV_PYTHON, version: stdout.trim(), changed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = await ensureLocustEnv(console.log);
  console.log(`${env.changed ? "installed" : "up to date"}: ${env.version}`);
  console.log(env.locust);
}
