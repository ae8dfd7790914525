/**
 * Placing an order: validate, publish `order.created` with a confirm, then answer.
 * Nothing of AMQP here beyond the publish function it is given.
 */
import { createHash, randomUUID } from "node:crypto";
import { EXCHANGES, ROUTING_KEYS } from "../../contract/index.js";
import { BoundedMap, KeyedMutex } from "../lib/bounded-map.js";
import { validateOrderRequest, orderTotalCents, type OrderRequest } from "../lib/events/order.js";
import { EVENT_VERSION, encodeEvent, type OrderCreated } from "../lib/events/schemas.js";
import { ERROR_CODES, HttpError } from "../lib/http/errors.js";
import { BrokerUnavailableError } from "../lib/messaging/errors.js";
import type { Broker } from "../lib/messaging/broker.js";
import { childSpan, formatTraceparent, parseTraceparent } from "../lib/observability/trace.js";

export interface AcceptedOrder {
  readonly orderId: string;
  readonly status: "pending";
  readonly customerId: string;
  readonly items: OrderRequest["items"];
  readonly currency: string;
  readonly totalCents: number;
  readonly createdAt: string;
}

interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly orderId: string;
  accepted?: AcceptedOrder;
}

/** Orders and idempotency keys remembered, each; the oldest are forgotten past this. */
const MEMORY_LIMIT = 100_000;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export class OrderDesk {
  private readonly orders = new BoundedMap<string, AcceptedOrder>(MEMORY_LIMIT);
  private readonly keys = new BoundedMap<string, IdempotencyRecord>(MEMORY_LIMIT);
  private readonly perKey = new KeyedMutex<string>();

  constructor(
    private readonly broker: Pick<Broker, "publish">,
    private readonly onAccepted: () => void = () => undefined,
  ) {}

  /**
   * Validates and places an order; resolves once the broker has confirmed `order.created`.
   * With an idempotency key, a repeat of the same request returns the same order without
   * publishing again; the same key with another body is refused (422). A key whose first
   * attempt failed (503) keeps its order id, so the retry publishes that same order.
   */
  async place(body: unknown, idempotencyKey: string | undefined, traceparent: string | undefined): Promise<AcceptedOrder> {
    const validation = validateOrderRequest(body);
    if (!validation.ok) {
      throw new HttpError(400, ERROR_CODES.validation, describe(validation.problems), validation.problems);
    }
    const order = validation.order;
    if (idempotencyKey === undefined) return this.publish(randomUUID(), order, traceparent);
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new HttpError(400, ERROR_CODES.validation, "Idempotency-Key must be 1 to 200 visible ASCII characters", [
        { field: "Idempotency-Key", message: "must be 1 to 200 visible ASCII characters" },
      ]);
    }

    return this.perKey.run(idempotencyKey, async () => {
      const fingerprint = fingerprintOf(order);
      const known = this.keys.get(idempotencyKey);
      if (known && known.fingerprint !== fingerprint) {
        throw new HttpError(
          422,
          ERROR_CODES.idempotencyConflict,
          "this Idempotency-Key was already used with a different request body",
        );
      }
      if (known?.accepted) return known.accepted;
      const record: IdempotencyRecord = known ?? { fingerprint, orderId: randomUUID() };
      this.keys.set(idempotencyKey, record);
      record.accepted = await this.publish(record.orderId, order, traceparent);
      return record.accepted;
    });
  }

  find(orderId: string): AcceptedOrder | undefined {
    return this.orders.get(orderId);
  }

  private async publish(orderId: string, order: OrderRequest, traceparent: string | undefined): Promise<AcceptedOrder> {
    const createdAt = new Date().toISOString();
    const totalCents = orderTotalCents(order.items);
    const event: OrderCreated = {
      type: ROUTING_KEYS.orderCreated,
      version: EVENT_VERSION,
      id: randomUUID(),
      orderId,
      occurredAt: createdAt,
      data: { customerId: order.customerId, items: order.items, currency: order.currency, totalCents },
    };
    try {
      await this.broker.publish(EXCHANGES.orders, ROUTING_KEYS.orderCreated, encodeEvent(event), {
        messageId: event.id,
        correlationId: orderId,
        type: event.type,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { traceparent: formatTraceparent(childSpan(parseTraceparent(traceparent))) },
      });
    } catch (error) {
      if (error instanceof BrokerUnavailableError) {
        throw new HttpError(503, ERROR_CODES.brokerUnavailable, `order not accepted: ${error.message}; retry later`);
      }
      throw error;
    }
    const accepted: AcceptedOrder = {
      orderId,
      status: "pending",
      customerId: order.customerId,
      items: order.items,
      currency: order.currency,
      totalCents,
      createdAt,
    };
    this.orders.set(orderId, accepted);
    this.onAccepted();
    return accepted;
  }
}

function describe(problems: readonly { field: string; message: string }[]): string {
  return `invalid order: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`;
}

/** Same order, same fingerprint, whatever the key order in the JSON. */
function fingerprintOf(order: OrderRequest): string {
  const canonical = JSON.stringify({
    customerId: order.customerId,
    currency: order.currency,
    items: order.items.map((i) => [i.sku, i.quantity, i.unitPrice]),
  });
  return createHash("sha256").update(canonical).digest("hex");
}
