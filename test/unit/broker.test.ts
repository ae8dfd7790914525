/**
 * The Broker's delivery handling against a fake channel: what happens when a settle cannot be
 * sent because the channel is closing (our own shutdown past its timeout, or a connection we
 * are closing after the broker cancelled our consumer).
 */
import type { ConsumeMessage } from "amqplib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { Broker, type ConsumerSpec } from "../../services/lib/messaging/broker.js";
import { PermanentMessageError } from "../../services/lib/messaging/errors.js";
import { ServiceMetrics } from "../../services/lib/observability/metrics.js";
import { capturingLogger, type LogLine } from "../support/pipeline.js";

class IllegalOperationError extends Error {}

/** A channel in amqplib's "closing" state: every send throws, and 'close' has not fired yet. */
function closingChannel() {
  let deliver: ((message: ConsumeMessage | null) => void) | undefined;
  const sent: string[] = [];
  const refuse = (what: string) => () => {
    sent.push(what);
    throw new IllegalOperationError("Channel closing");
  };
  return {
    sent,
    deliver: (message: ConsumeMessage) => deliver?.(message),
    channel: {
      consume: async (_queue: string, onMessage: (message: ConsumeMessage | null) => void) => {
        deliver = onMessage;
        return { consumerTag: "ctag-1" };
      },
      ack: refuse("ack"),
      nack: refuse("nack"),
      publish: refuse("publish"),
    },
  };
}

function message(body: string): ConsumeMessage {
  return {
    content: Buffer.from(body),
    fields: { deliveryTag: 1, redelivered: false, exchange: "orders", routingKey: "order.created", consumerTag: "ctag-1" },
    properties: { headers: {} },
  } as unknown as ConsumeMessage;
}

let unhandled: unknown[];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on("unhandledRejection", onUnhandled);
});
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
});

function brokerWith(logs: LogLine[]) {
  return new Broker({
    url: "amqp://127.0.0.1:1",
    connectionName: "test",
    logger: capturingLogger("test", logs),
    metrics: new ServiceMetrics("test"),
    prefetch: 1,
    heartbeatSeconds: 5,
    publishTimeoutMs: 1000,
    maxRetries: 3,
    retryDelayMs: 100,
  });
}

async function deliverOnClosingChannel(spec: ConsumerSpec<unknown>, logs: LogLine[]) {
  const broker = brokerWith(logs);
  const fake = closingChannel();
  const session = { model: { close: async () => undefined }, publisher: fake.channel, consumer: fake.channel, consumerTags: [] };
  await (broker as unknown as { startConsumer: (s: unknown, c: unknown) => Promise<void> }).startConsumer(session, spec);
  (broker as unknown as { session: unknown }).session = session;
  fake.deliver(message("{}"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { broker, fake };
}

describe("a delivery whose channel is closing when it is settled", () => {
  test.each([
    ["a poison message (dead-letter: nack)", async () => Promise.reject(new PermanentMessageError("invalid_json", "not JSON"))],
    ["a failing handler whose retry cannot be published (requeue: nack)", async () => Promise.reject(new Error("provider down"))],
    ["a handler that succeeded (ack)", async () => "processed" as const],
  ])("%s: no unhandled rejection, the settle is dropped and logged", async (_what, handle) => {
    const logs: LogLine[] = [];
    const { broker, fake } = await deliverOnClosingChannel({ queue: "q", decode: (c) => c, handle }, logs);
    expect(fake.sent.filter((s) => s !== "publish")).toHaveLength(1);
    expect(unhandled).toEqual([]);
    expect(broker.inFlightCount).toBe(0);
    expect(logs.some((l) => String(l.msg).includes("settle dropped"))).toBe(true);
  });
});

describe("Broker.stop", () => {
  test("a second call waits for the first to finish instead of returning at once", async () => {
    const broker = brokerWith([]);
    let drained = false;
    const work = new Promise<void>((resolve) => setTimeout(resolve, 200)).then(() => {
      drained = true;
    });
    (broker as unknown as { inFlight: Set<Promise<void>> }).inFlight.add(work);
    void broker.stop(2000);
    await broker.stop(2000);
    expect(drained).toBe(true);
  });
});
