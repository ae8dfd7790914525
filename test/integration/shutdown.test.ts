/**
 * SIGTERM to a real service process: it stops taking work, finishes the delivery in flight,
 * closes its channel and exits 0.
 */
import { spawn } from "node:child_process";
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

test("SIGTERM lets payment-service finish the payment in flight, then exit 0", async () => {
  // GIVEN a payment-service process whose payments take 1.5 s
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

  // WHEN
  child.kill("SIGTERM");

  // THEN
  expect(await exited).toBe(0);
  const payment = await waitFor("the payment event", async () => (await channel.get(observer, { noAck: true })) || undefined);
  expect(JSON.parse(payment.content.toString())).toMatchObject({ type: "payment.approved", orderId });
  const left = await channel.checkQueue(QUEUES.paymentOrders);
  expect(left.messageCount, JSON.stringify(lines)).toBe(0);
  expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["signal received", "shutting down", "stopped"]));
  await connection.close();
  await broker.deleteVhost(vhost);
}, 60_000);
