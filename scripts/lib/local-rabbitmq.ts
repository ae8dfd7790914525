/**
 * A RabbitMQ node of our own, run from Debian's `rabbitmq-server` package on loopback.
 *
 * The demo, the integration tests and the benchmark each start one in a folder of their own,
 * with their own node name and ports, so that they never touch a broker somebody else runs.
 * The tests also stop, freeze (SIGSTOP) and restart it, which is why the process id is kept.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { erlangDistributionEnv } from "../../stacks/templates.js";

const run = promisify(execFile);

const RABBITMQ_BIN = "/usr/lib/rabbitmq/bin";

export interface LocalRabbitMqOptions {
  /** Folder for the node's database, logs, config and Erlang cookie; created if missing. */
  readonly baseDir: string;
  /** Erlang node name, unique per instance on this machine. @default "orderlab@localhost" */
  readonly nodeName?: string;
  /** AMQP listener on 127.0.0.1. @default 5672 */
  readonly amqpPort?: number;
  /** Management UI and HTTP API on 127.0.0.1. @default amqpPort + 10000 */
  readonly managementPort?: number;
  /** The rabbitmq_prometheus endpoint on 127.0.0.1. @default amqpPort + 10020 */
  readonly prometheusPort?: number;
  /** Erlang distribution port. @default amqpPort + 20000 */
  readonly distributionPort?: number;
  /** Empty the database left in baseDir on the first start (restarts keep their data). @default false */
  readonly fresh?: boolean;
}

export class LocalRabbitMq {
  readonly baseDir: string;
  readonly nodeName: string;
  readonly amqpPort: number;
  readonly managementPort: number;
  readonly prometheusPort: number;
  readonly distributionPort: number;
  private fresh: boolean;

  constructor(options: LocalRabbitMqOptions) {
    this.baseDir = options.baseDir;
    this.nodeName = options.nodeName ?? "orderlab@localhost";
    this.amqpPort = options.amqpPort ?? 5672;
    this.managementPort = options.managementPort ?? this.amqpPort + 10000;
    this.prometheusPort = options.prometheusPort ?? this.amqpPort + 10020;
    this.distributionPort = options.distributionPort ?? this.amqpPort + 20000;
    this.fresh = options.fresh ?? false;
  }

  /** The AMQP URL of a virtual host, as the default `guest` user (allowed from loopback only). */
  url(vhost = "/"): string {
    return `amqp://guest:guest@127.0.0.1:${this.amqpPort}/${encodeURIComponent(vhost)}`;
  }

  get managementUrl(): string {
    return `http://127.0.0.1:${this.managementPort}`;
  }

  private get pidFile(): string {
    return join(this.baseDir, "rabbitmq.pid");
  }

  private env(): NodeJS.ProcessEnv {
    const base = this.baseDir;
    return {
      ...process.env,
      // The Erlang cookie lives in $HOME: one per instance keeps rabbitmqctl paired with it.
      HOME: base,
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_BASE: base,
      RABBITMQ_MNESIA_BASE: join(base, "mnesia"),
      RABBITMQ_LOG_BASE: join(base, "log"),
      RABBITMQ_LOGS: join(base, "log", "node.log"),
      RABBITMQ_CONFIG_FILE: join(base, "rabbitmq.conf"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, "enabled_plugins"),
      RABBITMQ_PID_FILE: this.pidFile,
      RABBITMQ_DIST_PORT: String(this.distributionPort),
      ...erlangDistributionEnv("127.0.0.1"),
    };
  }

  /** Writes the configuration, starts the node and waits until it takes connections. */
  async start(): Promise<void> {
    assertInstalled();
    if (this.fresh) rmSync(join(this.baseDir, "mnesia"), { recursive: true, force: true });
    this.fresh = false;
    mkdirSync(join(this.baseDir, "log"), { recursive: true });
    writeFileSync(
      join(this.baseDir, "rabbitmq.conf"),
      [
        `listeners.tcp.default = 127.0.0.1:${this.amqpPort}`,
        "management.tcp.ip = 127.0.0.1",
        `management.tcp.port = ${this.managementPort}`,
        "prometheus.tcp.ip = 127.0.0.1",
        `prometheus.tcp.port = ${this.prometheusPort}`,
        // Per-queue series (messages ready and unacked per queue) for the dashboards.
        "prometheus.return_per_object_metrics = true",
        "",
      ].join("\n"),
    );
    writeFileSync(join(this.baseDir, "enabled_plugins"), "[rabbitmq_management,rabbitmq_prometheus].\n");
    rmSync(this.pidFile, { force: true });

    const child = spawn(join(RABBITMQ_BIN, "rabbitmq-server"), [], {
      env: this.env(),
      detached: true,
      stdio: "ignore",
    });
    child.unref();
    await this.ctl(["wait", this.pidFile, "--timeout", "90"]);
    await waitForPort(this.amqpPort, 30_000);
  }

  /** Stops the node cleanly and waits for its process to end. */
  async stop(): Promise<void> {
    if (!existsSync(this.pidFile)) return;
    const pid = this.pid();
    if (pid !== undefined && isAlive(pid)) {
      this.thaw();
      await this.ctl(["stop", this.pidFile]).catch(() => process.kill(pid, "SIGKILL"));
    }
    rmSync(this.pidFile, { force: true });
  }

  /** The operating-system process id of the Erlang VM, while it runs. */
  pid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number.parseInt(readFileSync(this.pidFile, "utf8").trim(), 10);
    return Number.isInteger(pid) ? pid : undefined;
  }

  /** Suspends the broker's process (SIGSTOP): sockets stay open, nothing answers. */
  freeze(): void {
    const pid = this.pid();
    if (pid !== undefined) process.kill(pid, "SIGSTOP");
  }

  /** Resumes a frozen broker (SIGCONT). */
  thaw(): void {
    const pid = this.pid();
    if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGCONT");
  }

  /** Runs `rabbitmqctl` against this node. */
  async ctl(args: string[]): Promise<string> {
    const { stdout } = await run(join(RABBITMQ_BIN, "rabbitmqctl"), ["-n", this.nodeName, ...args], {
      env: this.env(),
      timeout: 120_000,
    });
    return stdout;
  }

  /** Calls the management HTTP API as `guest`. */
  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.managementUrl}/api${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}`,
        "content-type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      throw new Error(`RabbitMQ API ${method} ${path} answered ${response.status}: ${await response.text()}`);
    }
    const text = await response.text();
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  /** Creates a virtual host that `guest` may use fully, and returns its AMQP URL. */
  async createVhost(vhost: string): Promise<string> {
    const name = encodeURIComponent(vhost);
    await this.api("PUT", `/vhosts/${name}`);
    await this.api("PUT", `/permissions/${name}/guest`, { configure: ".*", write: ".*", read: ".*" });
    return this.url(vhost);
  }

  async deleteVhost(vhost: string): Promise<void> {
    await this.api("DELETE", `/vhosts/${encodeURIComponent(vhost)}`).catch(() => undefined);
  }

  /** Messages ready and unacknowledged in one queue, as the management API last sampled them. */
  async queueDepth(vhost: string, queue: string): Promise<{ ready: number; unacked: number }> {
    const q = await this.api<{ messages_ready?: number; messages_unacknowledged?: number }>(
      "GET",
      `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`,
    );
    return { ready: q.messages_ready ?? 0, unacked: q.messages_unacknowledged ?? 0 };
  }
}

export function isInstalled(): boolean {
  return existsSync(join(RABBITMQ_BIN, "rabbitmq-server"));
}

function assertInstalled(): void {
  if (!isInstalled()) {
    throw new Error(
      "RabbitMQ is not installed: run `apt-get install -y rabbitmq-server` (Debian's package) first",
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isListening(port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}
