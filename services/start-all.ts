/**
 * `npm start`: the three services as three processes against RABBITMQ_URL, output prefixed
 * by service. SIGINT or SIGTERM stops all three gracefully; if one exits, the others stop too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SERVICES } from "../contract/index.js";
import { REPO_ROOT, TSX } from "../scripts/lib/paths.js";

export interface StartedServices {
  readonly children: readonly ChildProcess[];
  /** Sends SIGTERM to every service and waits for all of them to exit. */
  stop(): Promise<void>;
  /** Resolves when the first service exits, with its name and exit code. */
  readonly firstExit: Promise<{ name: string; code: number | null }>;
}

export function startServices(env: NodeJS.ProcessEnv = process.env, print: (line: string) => void = console.log): StartedServices {
  const children = Object.values(SERVICES).map((service) => {
    const child = spawn(TSX, [join(REPO_ROOT, "services", service.name, "main.ts")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => print(`[${service.name}] ${line}`));
    }
    return { name: service.name, child };
  });
  const exits = children.map(
    ({ name, child }) =>
      new Promise<{ name: string; code: number | null }>((resolve) => child.once("exit", (code) => resolve({ name, code }))),
  );
  return {
    children: children.map((c) => c.child),
    firstExit: Promise.race(exits),
    async stop() {
      for (const { child } of children) if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.all(exits);
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const services = startServices();
  const stop = () => void services.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const { name, code } = await services.firstExit;
  console.error(`${name} exited with code ${code}; stopping the others`);
  await services.stop();
  process.exit(code === 0 ? 0 : 1);
}
