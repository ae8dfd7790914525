/**
 * The local target: a RabbitMQ (the one answering on the broker port, else one we start), a vhost
 * of our own on it, the three services as processes on free ports, and a private Prometheus
 * scraping them. `stop()` undoes exactly what was started, and leaves a reused broker running.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES } from "../../contract/index.js";
import { startServices, type StartedServices } from "../../services/start-all.js";
import { devBroker } from "../lib/dev-broker.js";
import { LocalRabbitMq, isListening } from "../lib/local-rabbitmq.js";
import { LocalPrometheus, waitForHttp } from "./prometheus.js";

export interface LocalPipelineOptions {
  /** AMQP port on 127.0.0.1: reused when something answers there, else a broker is started on it. */
  readonly brokerPort: number;
  /** Where services.log goes. */
  readonly logDir: string;
  readonly scrapeIntervalSeconds: number;
  readonly log: (line: string) => void;
  /** Extra environment for the services (PAYMENT_LATENCY_MS, PREFETCH...). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
  /** Start a Prometheus scraping the services and the broker. @default true */
  readonly prometheus?: boolean;
}

export interface LocalPipeline {
  readonly orderUrl: string;
  readonly notifyUrl: string;
  readonly paymentUrl: string;
  /** Empty when started without Prometheus. */
  readonly prometheusUrl: string;
  readonly vhost: string;
  readonly rabbitmqUrl: string;
  /** Started here (true) or reused (false). */
  readonly startedBroker: boolean;
  /** Base URL of each service by name. */
  readonly serviceUrls: Readonly<Record<string, string>>;
  readonly services: StartedServices;
  stop(): Promise<void>;
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { log } = options;
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of undo.reverse())
      await step().catch((error: unknown) => log(`stop: ${(error as Error).message}`));
    undo.length = 0;
  };

  try {
    const { broker, started } = await useBroker(options.brokerPort, log);
    if (started) {
      undo.push(async () => {
        log(`stopping the RabbitMQ started on 127.0.0.1:${broker.amqpPort}`);
        await broker.stop();
        if (broker.baseDir.startsWith(tmpdir()))
          rmSync(broker.baseDir, { recursive: true, force: true });
      });
    }

    const vhost = `campaign-${Date.now().toString(36)}-${randomBytes(2).toString("hex")}`;
    const rabbitmqUrl = await broker.createVhost(vhost);
    undo.push(() => broker.deleteVhost(vhost));

    const logFile = createWriteStream(join(options.logDir, "services.log"), { flags: "a" });
    undo.push(() => new Promise<void>((resolve) => logFile.end(resolve)));
    const ports = new Map<string, number>();
    const services = startServices(
      {
        ...process.env,
        HOST: "127.0.0.1",
        PORT: "0",
        RABBITMQ_URL: rabbitmqUrl,
        // Info is the services' default; it is also where they log the port they bound.
        LOG_LEVEL: "info",
        ...options.serviceEnv,
      },
      (line) => {
        logFile.write(`${line}\n`);
        const found = /^\[([\w-]+)\] .*"port":(\d+).*"msg":"listening"/.exec(line);
        if (found) ports.set(found[1]!, Number(found[2]));
      },
    );
    undo.push(() => services.stop());

    const names = Object.values(SERVICES).map((s) => s.name);
    await Promise.race([
      waitUntil(() => names.every((n) => ports.has(n)), 60_000, "the services to listen"),
      services.firstExit.then(({ name, code }) => {
        throw new Error(
          `${name} exited with code ${code} while starting; see ${options.logDir}/services.log`,
        );
      }),
    ]);
    const serviceUrls = Object.fromEntries(
      names.map((n) => [n, `http://127.0.0.1:${ports.get(n)}`]),
    );
    for (const url of Object.values(serviceUrls)) await waitForHttp(`${url}/ready`, 60_000);
    log(`services ready: ${names.map((n) => `${n} ${serviceUrls[n]}`).join(", ")}`);

    const base = {
      orderUrl: serviceUrls[SERVICES.order.name]!,
      paymentUrl: serviceUrls[SERVICES.payment.name]!,
      notifyUrl: serviceUrls[SERVICES.notification.name]!,
      vhost,
      rabbitmqUrl,
      startedBroker: started,
      serviceUrls,
      services,
      stop,
    };
    if (options.prometheus === false) return { ...base, prometheusUrl: "" };

    const promDir = mkdtempSync(join(tmpdir(), "orderlab-campaign-prometheus-"));
    const prometheus = new LocalPrometheus({
      dir: promDir,
      port: await freePort(),
      scrapeIntervalSeconds: options.scrapeIntervalSeconds,
      log,
      targets: [
        ...names.map((n) => ({ job: n, address: serviceUrls[n]!.replace("http://", "") })),
        { job: "rabbitmq", address: `127.0.0.1:${broker.prometheusPort}` },
      ],
    });
    undo.push(async () => {
      await prometheus.stop();
      rmSync(promDir, { recursive: true, force: true });
    });
    await prometheus.start();
    log(`Prometheus ready: ${prometheus.url} (scraping every ${options.scrapeIntervalSeconds} s)`);

    return { ...base, prometheusUrl: prometheus.url };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The broker answering on `port`, or a new one started there (the dev broker's folder on 5672). */
export async function useBroker(
  port: number,
  log: (line: string) => void,
): Promise<{ broker: LocalRabbitMq; started: boolean }> {
  const broker =
    port === 5672
      ? devBroker()
      : new LocalRabbitMq({
          baseDir: mkdtempSync(join(tmpdir(), "orderlab-campaign-rabbitmq-")),
          nodeName: `orderlab-campaign-${randomBytes(3).toString("hex")}@localhost`,
          amqpPort: port,
          fresh: true,
        });
  if (await isListening(port)) {
    log(`using the RabbitMQ that answers on 127.0.0.1:${port}`);
    if (broker.baseDir.startsWith(tmpdir()))
      rmSync(broker.baseDir, { recursive: true, force: true });
    return { broker, started: false };
  }
  log(
    `no broker on 127.0.0.1:${port}; starting RabbitMQ (Debian package) with its Prometheus plugin`,
  );
  await broker.start();
  return { broker, started: true };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
