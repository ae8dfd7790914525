/**
 * The broker's own limit under the services' durability: persistent messages published on a
 * confirm channel to a durable topic exchange, one durable queue, consumed with manual acks and
 * the services' prefetch, on two connections. Bounded by time and by message count.
 */
import { connect, type ConsumeMessage } from "amqplib";
import { EXCHANGES, ROUTING_KEYS } from "../../contract/index.js";

export interface OneHopOptions {
  readonly url: string;
  /** Message body, e.g. an encoded order.created event. */
  readonly body: Buffer;
  readonly seconds: number;
  /** Hard cap on messages published. */
  readonly maxMessages: number;
  /** Publishes awaiting their confirm at once. */
  readonly confirmWindow: number;
  readonly prefetch: number;
}

export interface OneHopResult {
  readonly published: number;
  readonly consumed: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}

const QUEUE = "bench.one-hop";

export async function rabbitmqOneHop(options: OneHopOptions): Promise<OneHopResult> {
  const publisherConnection = await connect(options.url);
  const consumerConnection = await connect(options.url);
  try {
    const publisher = await publisherConnection.createConfirmChannel();
    const consumer = await consumerConnection.createChannel();
    await publisher.assertExchange(EXCHANGES.orders, "topic", { durable: true });
    await publisher.assertQueue(QUEUE, { durable: true });
    await publisher.bindQueue(QUEUE, EXCHANGES.orders, ROUTING_KEYS.orderCreated);
    await publisher.purgeQueue(QUEUE);
    await consumer.prefetch(options.prefetch);

    const latencies: number[] = [];
    let consumed = 0;
    let lastConsumedAt = 0;
    let allConsumed: () => void = () => undefined;
    const everything = new Promise<void>((resolve) => (allConsumed = resolve));
    let published = 0;
    let publishingDone = false;
    await consumer.consume(QUEUE, (message: ConsumeMessage | null) => {
      if (!message) return;
      const sentAt = Number(message.properties.headers?.["x-sent-at-ns"]);
      latencies.push(Number(process.hrtime.bigint() - BigInt(sentAt)) / 1e6);
      consumer.ack(message);
      consumed += 1;
      lastConsumedAt = performance.now();
      if (publishingDone && consumed >= published) allConsumed();
    });

    const started = performance.now();
    const deadline = started + options.seconds * 1000;
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const pump = () => {
        while (
          inFlight < options.confirmWindow &&
          performance.now() < deadline &&
          published < options.maxMessages
        ) {
          inFlight += 1;
          published += 1;
          publisher.publish(
            EXCHANGES.orders,
            ROUTING_KEYS.orderCreated,
            options.body,
            {
              persistent: true,
              contentType: "application/json",
              headers: { "x-sent-at-ns": process.hrtime.bigint().toString() },
            },
            (error: unknown) => {
              inFlight -= 1;
              if (error)
                reject(new Error("the broker did not confirm a message", { cause: error }));
              else if (
                inFlight === 0 &&
                (performance.now() >= deadline || published >= options.maxMessages)
              )
                resolve();
              else pump();
            },
          );
        }
      };
      pump();
    });
    publishingDone = true;
    if (consumed < published) {
      await Promise.race([everything, new Promise((r) => setTimeout(r, 30_000))]);
    }
    const seconds = ((lastConsumedAt || performance.now()) - started) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(
        (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100,
      ) / 100;
    await publisher.deleteQueue(QUEUE);
    return {
      published,
      consumed,
      seconds,
      perSecond: consumed / seconds,
      latencyMs: { p50: at(0.5), p99: at(0.99) },
    };
  } finally {
    await consumerConnection.close().catch(() => undefined);
    await publisherConnection.close().catch(() => undefined);
  }
}
