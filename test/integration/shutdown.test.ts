/**
 * SIGTERM to a real service process: it stops taking work, finishes the delivery in flight,
 * closes its channel and exits 0.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { connect } from "amqplib";
import { expect, test } from "vitest";
import { EXCHANGES, QUEUES, ROUTING_KEYS } from "../../contract/index.js";
import { REPO_ROOT, TSX } from "../../scripts/lib/paths.js";
import { useTestBroker, uniqueVhost } from "../support/broker.js";
import { waitFor } from "../support/http.js";

const broker = useTestBroker();

/**
 * Starts payment-service with payments that take 1.5 s, hands it one order, and once the
 * delivery is in flight calls `signal` on the process; returns what it did then.
 */
async function shutdownWhilePaying(signal: (child: ChildProcess) => Promise<void>) {
  const vhost = uniqueVhost("shutdown");
  const url = await broker.createVhost(vhost);
  const child = spawn(TSX, [join(REPO_ROOT, "services", "payment-service", "main.ts")], {
    env: { ...process.env, RABBITMQ_URL: url, PORT: "0", PAYMENT_LATENCY_MS: "1500", PAYMENT_DECLINE_RATE: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: { msg: string }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(JSON.parse(line)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  await waitFor("the consumer", async () => (lines.some((l) => l.msg.startsWith("connected")) ? true : undefined), 20_000);

  const connection = await connect(url);
  const channel = await connection.createConfirmChannel();
  const { queue: observer } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(observer, EXCHANGES.payments, "#");
  const orderId = randomUUID();
  channel.publish(
    EXCHANGES.orders,
    ROUTING_KEYS.orderCreated,
    Buffer.from(
      JSON.stringify({
        type: "order.created",
        version: 1,
        id: randomUUID(),
        orderId,
        occurredAt: new Date().toISOString(),
        data: { customerId: "c", items: [{ sku: "A", quantity: 1, unitPrice: 1 }], currency: "EUR", totalCents: 100 },
      }),
    ),
    { persistent: true },
  );
  await channel.waitForConfirms();
  await waitFor("the delivery in flight", async () =>
    (await channel.checkQueue(QUEUES.paymentOrders)).messageCount === 0 ? true : undefined,
  );

  await signal(child);

  const exitCode = await exited;
  const payment = await waitFor("the payment event", async () => (await channel.get(observer, { noAck: true })) || undefined);
  const left = (await channel.checkQueue(QUEUES.paymentOrders)).messageCount;
  await connection.close();
  await broker.deleteVhost(vhost);
  return { exitCode, orderId, payment: JSON.parse(payment.content.toString()) as unknown, left, messages: lines.map((l) => l.msg) };
}

test("SIGTERM lets payment-service finish the payment in flight, then exit 0", async () => {
  // GIVEN a payment in flight, WHEN the process gets SIGTERM
  const result = await shutdownWhilePaying(async (child) => {
    child.kill("SIGTERM");
  });

  // THEN it publishes the payment, acknowledges the order and exits 0
  expect(result.exitCode).toBe(0);
  expect(result.payment).toMatchObject({ type: "payment.approved", orderId: result.orderId });
  expect(result.left, JSON.stringify(result.messages)).toBe(0);
  expect(result.messages).toEqual(expect.arrayContaining(["signal received", "shutting down", "stopped"]));
}, 60_000);

test("SIGTERM to the whole process group, then to each child again, changes nothing", async () => {
  // GIVEN a payment in flight, WHEN SIGTERM reaches the service's node process directly and
  // through the tsx wrapper (as `kill -TERM -- -<pgid>` does), and the wrapper once more later
  // (as a supervisor stopping its children does)
  const result = await shutdownWhilePaying(async (child) => {
    const service = spawnSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" }).stdout.trim().split("\n").map(Number);
    expect(service).toHaveLength(1);
    process.kill(service[0]!, "SIGTERM");
    child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGTERM");
  });

  // THEN the shutdown runs to its end once: the payment is published and the process exits 0
  expect(result.exitCode).toBe(0);
  expect(result.payment).toMatchObject({ type: "payment.approved", orderId: result.orderId });
  expect(result.left, JSON.stringify(result.messages)).toBe(0);
  expect(result.messages.filter((m) => m === "stopped")).toHaveLength(1);
}, 60_000);
