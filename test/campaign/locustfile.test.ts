import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { LOCUSTFILE } from "../../scripts/campaign/run.js";
import { ensureLocustEnv, type LocustEnv } from "../../scripts/locust-env.js";

const run = promisify(execFile);

describe("locustfile", () => {
  let env: LocustEnv;

  beforeAll(async () => {
    env = await ensureLocustEnv();
  });

  test("compiles (python -m py_compile)", async () => {
    const { stderr } = await run(env.python, ["-m", "py_compile", LOCUSTFILE]);

    expect(stderr).toBe("");
  });

  test.each(["smoke", "baseline", "step", "spike", "soak", ""])(
    "loads both personas with ORDERLAB_SCENARIO=%j",
    async (scenario) => {
      const { stdout } = await run(env.locust, ["-f", LOCUSTFILE, "--list"], {
        env: { ...process.env, ORDERLAB_SCENARIO: scenario },
      });

      expect(stdout).toContain("OrderPlacer");
      expect(stdout).toContain("OrderFollower");
    },
  );

  test("fails if ORDERLAB_SCENARIO names no scenario", async () => {
    const failure = await run(env.locust, ["-f", LOCUSTFILE, "--list"], {
      env: { ...process.env, ORDERLAB_SCENARIO: "stress" },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );

    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toContain(
      "ORDERLAB_SCENARIO must be one of smoke, baseline, step, spike, soak, manual, but 'stress'",
    );
  });
});
