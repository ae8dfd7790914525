/**
 * The main job: the whole pipeline on this machine, end to end.
 *
 * Uses the RabbitMQ that answers on 127.0.0.1:5672, or starts one from Debian's package (and
 * says so), starts the three services, places a few sample orders, and shows each one reach
 * notification. Stops what it started. Exits 1 if an order does not arrive.
 *
 *   npm run demo [-- --orders 5]
 */
import { Command } from "commander";
import { SERVICES } from "../contract/index.js";
import { startServices } from "../services/start-all.js";
import { devBroker } from "./lib/dev-broker.js";
import { isListening } from "./lib/local-rabbitmq.js";

const program = new Command("demo")
  .description("start RabbitMQ and the three services, place sample orders, follow them to notification")
  .option("--orders <count>", "sample orders to place", (v) => Number.parseInt(v, 10), 5)
  .option("--timeout-ms <ms>", "how long to wait for each notification", (v) => Number.parseInt(v, 10), 5000)
  .parse();
const options = program.opts<{ orders: number; timeoutMs: number }>();

const say = (line: string) => console.log(line);
const base = (service: { port: number }) => `http://127.0.0.1:${service.port}`;

const broker = devBroker();
let startedBroker = false;
if (await isListening(broker.amqpPort)) {
  say(`demo: using the RabbitMQ that answers on 127.0.0.1:${broker.amqpPort}`);
} else {
  say(`demo: no broker on 127.0.0.1:${broker.amqpPort}; starting RabbitMQ from Debian's package in ${broker.baseDir}`);
  await broker.start();
  startedBroker = true;
}

const rabbitmqUrl = process.env.RABBITMQ_URL ?? broker.url();
const services = startServices(
  { ...process.env, RABBITMQ_URL: rabbitmqUrl, HOST: "127.0.0.1", LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
  (line) => say(`  ${line}`),
);
let failed = 0;
try {
  say("demo: waiting for the services to be ready ...");
  await Promise.race([
    waitUntilReady(Object.values(SERVICES).map(base)),
    services.firstExit.then(({ name, code }) => {
      throw new Error(`${name} exited with code ${code} before it was ready`);
    }),
  ]);

  say(`demo: placing ${options.orders} orders\n`);
  say(`  ${"order id".padEnd(36)}  ${"payment".padEnd(9)}  ${"notified".padEnd(16)}  order→notification`);
  for (let i = 0; i < options.orders; i += 1) {
    const order = sampleOrder(i);
    const placed = await fetch(`${base(SERVICES.order)}/order`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": `demo-${Date.now()}-${i}` },
      body: JSON.stringify(order),
    });
    const answer = (await placed.json()) as { orderId?: string; error?: { message: string } };
    if (placed.status !== 202 || !answer.orderId) {
      say(`  order ${i + 1} refused: ${placed.status} ${answer.error?.message ?? ""}`);
      failed += 1;
      continue;
    }
    const notification = await waitForNotification(answer.orderId, options.timeoutMs);
    if (!notification) {
      say(`  ${answer.orderId}  no notification within ${options.timeoutMs} ms`);
      failed += 1;
      continue;
    }
    say(
      `  ${answer.orderId}  ${notification.status === "confirmed" ? "approved " : "declined "}  ${notification.status.padEnd(16)}  ${(notification.latencySeconds * 1000).toFixed(1)} ms`,
    );
  }
  say(
    failed === 0
      ? `\ndemo: all ${options.orders} orders reached notification-service (GET ${base(SERVICES.notification)}/notify/<orderId>)`
      : `\ndemo: ${failed} of ${options.orders} orders did not reach notification`,
  );
} catch (error) {
  say(`demo: ${(error as Error).message}`);
  failed = Math.max(failed, 1);
} finally {
  await services.stop();
  if (startedBroker) {
    say("demo: stopping the RabbitMQ it started");
    await broker.stop();
  }
}
process.exit(failed === 0 ? 0 : 1);

function sampleOrder(i: number) {
  const catalogue = [
    { sku: "BOOK-NOMAD", unitPrice: 39.9 },
    { sku: "MUG-CONSUL", unitPrice: 12.5 },
    { sku: "SHIRT-VAULT", unitPrice: 24.0 },
    { sku: "STICKER-TRAEFIK", unitPrice: 1.99 },
  ];
  const items = catalogue.slice(0, 1 + (i % catalogue.length)).map((item, n) => ({ ...item, quantity: 1 + ((i + n) % 3) }));
  return { customerId: `demo-customer-${i + 1}`, items, currency: "EUR" };
}

async function waitUntilReady(urls: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answers = await Promise.all(urls.map((url) => fetch(`${url}/ready`).then((r) => r.ok, () => false)));
    if (answers.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error("the services were not ready within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForNotification(orderId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${base(SERVICES.notification)}/notify/${orderId}`);
    if (response.status === 200) return (await response.json()) as { status: string; latencySeconds: number };
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}
