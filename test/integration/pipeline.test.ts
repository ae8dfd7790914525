/**
 * The pipeline against a real RabbitMQ: orders reach notification, and duplicates, poison
 * messages, failing handlers, lost acks and bursts are handled without loss or double payment.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect, type ChannelModel } from "amqplib";
import { afterEach, describe, expect, test } from "vitest";
import { EXCHANGES, METRICS, QUEUES, ROUTING_KEYS, deadLetterQueueOf } from "../../contract/index.js";
import { EVENT_VERSION, type OrderCreated } from "../../services/lib/events/schemas.js";
import { useTestBroker, uniqueVhost } from "../support/broker.js";
import { getJson, metricValue, postJson, sampleOrder, sleep, waitFor } from "../support/http.js";
import { startPipeline, type Pipeline } from "../support/pipeline.js";

const run = promisify(execFile);

const broker = useTestBroker();
let pipeline: Pipeline | undefined;
let vhost: string;
let amqpUrl: string;

async function freshPipeline(options: Parameters<typeof startPipeline>[1] = {}): Promise<Pipeline> {
  vhost = uniqueVhost("pipeline");
  amqpUrl = await broker.createVhost(vhost);
  pipeline = await startPipeline(amqpUrl, options);
  return pipeline;
}

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  await broker.deleteVhost(vhost);
});

async function withChannel<T>(work: (channel: Awaited<ReturnType<ChannelModel["createConfirmChannel"]>>) => Promise<T>): Promise<T> {
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const result = await work(channel);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

function orderCreated(orderId = randomUUID()): OrderCreated {
  return {
    type: ROUTING_KEYS.orderCreated,
    version: EVENT_VERSION,
    id: randomUUID(),
    orderId,
    occurredAt: new Date().toISOString(),
    data: { customerId: "c-1", items: [{ sku: "A", quantity: 1, unitPrice: 5 }], currency: "EUR", totalCents: 500 },
  };
}

async function publishRaw(body: Buffer | object, routingKey: string = ROUTING_KEYS.orderCreated): Promise<void> {
  await withChannel(async (channel) => {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    channel.publish(EXCHANGES.orders, routingKey, content, { persistent: true, contentType: "application/json" });
    await channel.waitForConfirms();
  });
}

async function metrics(url: string): Promise<string> {
  return (await getJson(`${url}/metrics`)).body as string;
}

describe("an order", () => {
  test("posted over HTTP reaches notification, with its payment visible on the way", async () => {
    // GIVEN
    const p = await freshPipeline();

    // WHEN
    const placed = await postJson(`${p.orderUrl}/order`, sampleOrder(), { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });

    // THEN
    expect(placed.status).toBe(202);
    expect(placed.body).toEqual({ orderId: expect.any(String), status: "pending" });
    const orderId = placed.body.orderId as string;
    const notification = await waitFor("the notification", async () => {
      const r = await getJson(`${p.notificationUrl}/notify/${orderId}`);
      return r.status === 200 ? r.body : undefined;
    }, 1000, 10);
    expect(notification).toMatchObject({ orderId, status: "confirmed", amountCents: 2899, currency: "EUR" });
    expect(notification.latencySeconds).toBeGreaterThanOrEqual(0);

    const payment = await getJson(`${p.paymentUrl}/payment/${orderId}`);
    expect(payment.status).toBe(200);
    expect(payment.body).toMatchObject({ orderId, status: "approved", paymentId: notification.paymentId });
    expect((await getJson(`${p.orderUrl}/order/${orderId}`)).body).toMatchObject({ orderId, totalCents: 2899 });

    // the trace id the client sent travels to the notification's log line
    const confirmed = p.logs.find((l) => l.msg === "order confirmed" && l.orderId === orderId);
    expect(String(confirmed?.traceparent)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(metricValue(await metrics(p.notificationUrl), `${METRICS.orderToNotification}_count`)).toBe(1);
  });

  test("is published as a versioned, persistent JSON event with ids, timestamp and traceparent", async () => {
    const p = await freshPipeline({ only: ["order"] });
    const message = await withChannel(async (channel) => {
      const { queue } = await channel.assertQueue("", { exclusive: true });
      await channel.bindQueue(queue, EXCHANGES.orders, ROUTING_KEYS.orderCreated);
      const placed = await postJson(`${p.orderUrl}/order`, sampleOrder());
      expect(placed.status).toBe(202);
      return waitFor("the event", async () => (await channel.get(queue, { noAck: true })) || undefined);
    });
    const event = JSON.parse(message.content.toString());
    expect(event).toMatchObject({ type: "order.created", version: 1, data: { totalCents: 2899, currency: "EUR" } });
    expect(message.properties).toMatchObject({
      contentType: "application/json",
      deliveryMode: 2,
      messageId: event.id,
      correlationId: event.orderId,
      type: "order.created",
    });
    expect(message.properties.timestamp).toBeGreaterThan(0);
    expect(String(message.properties.headers?.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  test("retried with the same Idempotency-Key keeps its order id and is published once", async () => {
    const p = await freshPipeline();
    const key = `key-${randomUUID()}`;
    const first = await postJson(`${p.orderUrl}/order`, sampleOrder(), { "idempotency-key": key });
    const again = await postJson(`${p.orderUrl}/order`, sampleOrder(), { "idempotency-key": key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.orderId).toBe(first.body.orderId);
    expect(metricValue(await metrics(p.orderUrl), METRICS.messagesPublished)).toBe(1);

    const conflict = await postJson(`${p.orderUrl}/order`, sampleOrder({ currency: "USD" }), { "idempotency-key": key });
    expect(conflict.status).toBe(422);
    expect(conflict.body.error.code).toBe("ORDER_ERR_IDEMPOTENCY_CONFLICT");
  });

  test("concurrent requests with one Idempotency-Key make one order", async () => {
    const p = await freshPipeline({ only: ["order"] });
    const key = `key-${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postJson(`${p.orderUrl}/order`, sampleOrder(), { "idempotency-key": key })),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([202]));
    expect(new Set(answers.map((a) => a.body.orderId)).size).toBe(1);
    expect(metricValue(await metrics(p.orderUrl), METRICS.messagesPublished)).toBe(1);
  });
});

describe("consumers", () => {
  test("a duplicated order.created pays and notifies once", async () => {
    const p = await freshPipeline();
    const event = orderCreated();
    await publishRaw(event);
    await publishRaw(event);
    await publishRaw({ ...event, id: randomUUID() }); // same order, another message id

    await waitFor("three deliveries settled", async () =>
      metricValue(await metrics(p.paymentUrl), METRICS.messagesConsumed, { queue: QUEUES.paymentOrders }) === 3 ? true : undefined,
    );
    const payment = await metrics(p.paymentUrl);
    expect(metricValue(payment, METRICS.paymentsProcessed)).toBe(1);
    expect(metricValue(payment, METRICS.messagesConsumed, { outcome: "duplicate" })).toBe(2);
    expect(metricValue(payment, METRICS.messagesPublished, { exchange: EXCHANGES.payments })).toBe(1);
    await waitFor("the notification", async () => ((await getJson(`${p.notificationUrl}/notify/${event.orderId}`)).status === 200 ? true : undefined));
    await sleep(300);
    expect(metricValue(await metrics(p.notificationUrl), METRICS.messagesConsumed, { outcome: "acked" })).toBe(1);
    expect(p.logs.filter((l) => l.msg === "order confirmed" && l.orderId === event.orderId)).toHaveLength(1);
  });

  test("a poison message lands in the dead-letter queue and the consumer keeps going", async () => {
    const p = await freshPipeline();
    await publishRaw(Buffer.from("{not json"));
    await publishRaw({ type: "order.created", version: 1, id: "nope" });

    const dlq = deadLetterQueueOf(QUEUES.paymentOrders);
    await waitFor("two dead-lettered messages", async () =>
      (await withChannel((c) => c.checkQueue(dlq))).messageCount === 2 ? true : undefined,
    );
    const text = await metrics(p.paymentUrl);
    expect(metricValue(text, METRICS.messagesDeadLettered, { reason: "invalid_json" })).toBe(1);
    expect(metricValue(text, METRICS.messagesDeadLettered, { reason: "invalid_schema" })).toBe(1);

    const placed = await postJson(`${p.orderUrl}/order`, sampleOrder());
    await waitFor("the next order's notification", async () =>
      (await getJson(`${p.notificationUrl}/notify/${placed.body.orderId}`)).status === 200 ? true : undefined,
    );
    const dead = await withChannel(async (c) => c.get(dlq, { noAck: true }));
    expect(dead && dead.content.toString()).toBe("{not json");
  });

  test("a message that always fails is retried a bounded number of times, then dead-lettered", async () => {
    let attempts = 0;
    const p = await freshPipeline({
      env: { MAX_RETRIES: "3" },
      payment: {
        provider: async () => {
          attempts += 1;
          throw new Error("payment provider unavailable");
        },
      },
    });
    await publishRaw(orderCreated());

    const dlq = deadLetterQueueOf(QUEUES.paymentOrders);
    await waitFor("the dead-lettered message", async () =>
      (await withChannel((c) => c.checkQueue(dlq))).messageCount === 1 ? true : undefined,
    );
    await sleep(1000); // time for a retry loop to show, if there were one
    expect(attempts).toBe(3);
    const text = await metrics(p.paymentUrl);
    expect(metricValue(text, METRICS.messagesRetried)).toBe(2);
    expect(metricValue(text, METRICS.messagesDeadLettered, { reason: "retries_exhausted" })).toBe(1);
    expect((await withChannel((c) => c.checkQueue(QUEUES.paymentOrders))).messageCount).toBe(0);
  });

  test("a transient failure is retried and then succeeds once", async () => {
    let attempts = 0;
    const p = await freshPipeline({
      payment: {
        provider: async () => {
          attempts += 1;
          if (attempts === 1) throw new Error("timeout talking to the provider");
          return { approved: true };
        },
      },
    });
    const event = orderCreated();
    await publishRaw(event);
    await waitFor("the notification", async () => ((await getJson(`${p.notificationUrl}/notify/${event.orderId}`)).status === 200 ? true : undefined));
    expect(attempts).toBe(2);
    expect(metricValue(await metrics(p.paymentUrl), METRICS.paymentsProcessed)).toBe(1);
  });

  test("a lost ack causes a redelivery that neither pays nor notifies twice", async () => {
    // GIVEN a payment-service whose first ack is lost: the connection is cut right after the
    // payment event is confirmed, before the order.created delivery is acknowledged
    let payments = 0;
    const p = await freshPipeline({
      payment: {
        provider: async () => {
          payments += 1;
          return { approved: true };
        },
      },
    });
    const broker_ = p.payment.host.broker;
    const publish = broker_.publish.bind(broker_);
    let cut = false;
    broker_.publish = async (...args: Parameters<typeof publish>) => {
      await publish(...args);
      if (!cut && args[0] === EXCHANGES.payments) {
        cut = true;
        await closeConnections("payment-service");
      }
    };

    // WHEN
    const event = orderCreated();
    await publishRaw(event);

    // THEN the delivery comes back on the new connection and is recognised as paid
    await waitFor("the redelivery settled as a duplicate", async () =>
      metricValue(await metrics(p.paymentUrl), METRICS.messagesConsumed, { outcome: "duplicate" }) === 1 ? true : undefined,
    30_000);
    expect(payments).toBe(1);
    expect(p.logs.some((l) => String(l.msg).startsWith("late settle dropped"))).toBe(true);
    await waitFor("the notification", async () => ((await getJson(`${p.notificationUrl}/notify/${event.orderId}`)).status === 200 ? true : undefined));
    await sleep(500);
    expect(p.logs.filter((l) => l.msg === "order confirmed" && l.orderId === event.orderId)).toHaveLength(1);
    expect((await withChannel((c) => c.checkQueue(QUEUES.paymentOrders))).messageCount).toBe(0);
  });

  test("unacknowledged deliveries stay within the prefetch under a burst of 10,000 orders", async () => {
    const prefetch = 10;
    const p = await freshPipeline({ env: { PREFETCH: String(prefetch), PAYMENT_LATENCY_MS: "1" } });
    const total = 10_000;
    await withChannel(async (channel) => {
      for (let i = 0; i < total; i += 1) {
        channel.publish(EXCHANGES.orders, ROUTING_KEYS.orderCreated, Buffer.from(JSON.stringify(orderCreated())), { persistent: true });
      }
      await channel.waitForConfirms();
    });

    let maxUnacked = 0;
    let samples = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const listing = await broker.ctl(["list_queues", "-p", vhost, "name", "messages_unacknowledged", "--no-table-headers", "--quiet"]);
      for (const line of listing.split("\n")) {
        const [name, unacked] = line.trim().split(/\s+/);
        if (name === QUEUES.paymentOrders || name === QUEUES.notificationPayments) maxUnacked = Math.max(maxUnacked, Number(unacked));
      }
      samples += 1;
      const done = metricValue(await metrics(p.notificationUrl), METRICS.messagesConsumed, { outcome: "acked" });
      if (done === total) break;
      if (Date.now() > deadline) throw new Error(`only ${done} of ${total} orders notified in time`);
      await sleep(200);
    }
    expect(samples).toBeGreaterThan(1);
    expect(maxUnacked).toBeGreaterThan(0);
    expect(maxUnacked).toBeLessThanOrEqual(prefetch);
  }, 180_000);
});

describe("/metrics", () => {
  test("of every service passes promtool check metrics", async () => {
    const p = await freshPipeline();
    const placed = await postJson(`${p.orderUrl}/order`, sampleOrder());
    await waitFor("the notification", async () => ((await getJson(`${p.notificationUrl}/notify/${placed.body.orderId}`)).status === 200 ? true : undefined));
    const dir = mkdtempSync(join(tmpdir(), "orderlab-metrics-"));
    for (const url of [p.orderUrl, p.paymentUrl, p.notificationUrl]) {
      const text = await metrics(url);
      expect(text).toContain(METRICS.httpRequestDuration);
      expect(text).toContain("process_cpu_user_seconds_total");
      const file = join(dir, "metrics.txt");
      writeFileSync(file, text);
      const result = await run("sh", ["-c", `promtool check metrics < ${file}`]).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      expect(result, result.out).toMatchObject({ code: 0 });
    }
  });
});

/**
 * Force-closes every connection a service holds, as a broker restart or network cut would.
 * The management API lists a new connection only after its next stats sample, so poll for it.
 */
async function closeConnections(connectionName: string): Promise<void> {
  type Listed = { name: string; vhost: string; client_properties?: { connection_name?: string } };
  const mine = await waitFor(`a listed connection named ${connectionName}`, async () => {
    const listed = await broker.api<Listed[]>("GET", "/connections");
    const found = listed.filter((c) => c.vhost === vhost && c.client_properties?.connection_name === connectionName);
    return found.length > 0 ? found : undefined;
  }, 15_000, 250);
  for (const c of mine) await broker.api("DELETE", `/connections/${encodeURIComponent(c.name)}`);
}

describe("payment-service restarted with its journal", () => {
  test("recognises an order it paid before the restart and does not pay it again", async () => {
    // GIVEN a payment-service that journals its payments, and an order it has paid
    const journal = join(mkdtempSync(join(tmpdir(), "orderlab-journal-")), "payments.jsonl");
    let payments = 0;
    const provider = async () => {
      payments += 1;
      return { approved: true };
    };
    const first = await freshPipeline({ env: { PAYMENT_JOURNAL: journal }, payment: { provider }, only: ["payment"] });
    const event = orderCreated();
    await publishRaw(event);
    await waitFor("the payment", async () => (metricValue(await metrics(first.paymentUrl), METRICS.paymentsProcessed) === 1 ? true : undefined));
    await first.stop();

    // WHEN a new process starts from the same journal and the order.created comes again
    pipeline = await startPipeline(amqpUrl, { env: { PAYMENT_JOURNAL: journal }, payment: { provider }, only: ["payment"] });
    await publishRaw(event);

    // THEN it is settled as a duplicate, and the provider was asked once in all
    await waitFor("the duplicate", async () =>
      metricValue(await metrics(pipeline!.paymentUrl), METRICS.messagesConsumed, { outcome: "duplicate" }) === 1 ? true : undefined,
    );
    expect(payments).toBe(1);
    expect((await getJson(`${pipeline.paymentUrl}/payment/${event.orderId}`)).body).toMatchObject({ orderId: event.orderId, status: "approved" });
  });
});
