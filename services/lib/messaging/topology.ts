/**
 * The broker topology, as data, declared by every service on every (re)connect.
 *
 * Each service declares all of it, not only its own part: an `order.created` published before
 * payment-service ever started still lands in payment-service's durable queue instead of being
 * dropped by an exchange with no binding.
 *
 * Every work queue dead-letters into `dead-letter` with its own name as routing key, which
 * lands in `<queue>.dlq`. A transient failure is retried through `<queue>.retry`: the consumer
 * republishes there with a per-message expiration, and the expired message dead-letters back
 * into the work queue through the default exchange. Delays live on the messages, not on queue
 * arguments, so changing the retry delay never makes a redeclaration fail.
 */
import type { Channel } from "amqplib";
import { EXCHANGES, QUEUES, ROUTING_KEYS, deadLetterQueueOf, retryQueueOf } from "../../../contract/index.js";

export interface ExchangeSpec {
  readonly name: string;
  readonly type: "topic" | "direct";
}

export interface QueueSpec {
  readonly name: string;
  readonly arguments: Readonly<Record<string, string>>;
}

export interface BindingSpec {
  readonly queue: string;
  readonly exchange: string;
  readonly pattern: string;
}

export interface Topology {
  readonly exchanges: readonly ExchangeSpec[];
  readonly queues: readonly QueueSpec[];
  readonly bindings: readonly BindingSpec[];
}

/** A consumer's work queue with its retry and dead-letter companions. */
function workQueue(name: string, exchange: string, patterns: readonly string[]): Topology {
  return {
    exchanges: [],
    queues: [
      {
        name,
        arguments: {
          "x-dead-letter-exchange": EXCHANGES.deadLetter,
          "x-dead-letter-routing-key": name,
        },
      },
      {
        name: retryQueueOf(name),
        arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name },
      },
      { name: deadLetterQueueOf(name), arguments: {} },
    ],
    bindings: [
      ...patterns.map((pattern) => ({ queue: name, exchange, pattern })),
      { queue: deadLetterQueueOf(name), exchange: EXCHANGES.deadLetter, pattern: name },
    ],
  };
}

function merge(...parts: Topology[]): Topology {
  return {
    exchanges: parts.flatMap((p) => p.exchanges),
    queues: parts.flatMap((p) => p.queues),
    bindings: parts.flatMap((p) => p.bindings),
  };
}

export const TOPOLOGY: Topology = merge(
  {
    exchanges: [
      { name: EXCHANGES.orders, type: "topic" },
      { name: EXCHANGES.payments, type: "topic" },
      { name: EXCHANGES.deadLetter, type: "direct" },
    ],
    queues: [],
    bindings: [],
  },
  workQueue(QUEUES.paymentOrders, EXCHANGES.orders, [ROUTING_KEYS.orderCreated]),
  workQueue(QUEUES.notificationPayments, EXCHANGES.payments, [
    ROUTING_KEYS.paymentApproved,
    ROUTING_KEYS.paymentDeclined,
  ]),
);

/** Declares exchanges, then queues, then bindings. Idempotent. */
export async function declareTopology(channel: Channel, topology: Topology = TOPOLOGY): Promise<void> {
  for (const exchange of topology.exchanges) {
    await channel.assertExchange(exchange.name, exchange.type, { durable: true });
  }
  for (const queue of topology.queues) {
    await channel.assertQueue(queue.name, { durable: true, arguments: queue.arguments });
  }
  for (const binding of topology.bindings) {
    await channel.bindQueue(binding.queue, binding.exchange, binding.pattern);
  }
}
