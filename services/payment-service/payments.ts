/**
 * Paying for an order exactly once per order id.
 *
 * The outcome is recorded before it is published, and the publish repeats the recorded event
 * (same event id) on a redelivery, so a lost ack or a duplicated `order.created` neither pays
 * twice nor announces two different outcomes.
 */
import { randomUUID } from "node:crypto";
import { EXCHANGES, ROUTING_KEYS } from "../../contract/index.js";
import { BoundedMap, KeyedMutex } from "../lib/bounded-map.js";
import { EVENT_VERSION, encodeEvent, type OrderCreated, type PaymentEvent } from "../lib/events/schemas.js";
import type { Broker, DeliveryInfo, HandlerOutcome } from "../lib/messaging/broker.js";
import { Journal } from "../lib/journal.js";
import type { Logger } from "../lib/observability/logger.js";
import { childSpan, formatTraceparent, parseTraceparent } from "../lib/observability/trace.js";
import type { PaymentProvider } from "./simulator.js";

export interface PaymentRecord {
  readonly event: PaymentEvent;
  published: boolean;
}

/** What the journal keeps: a payment decided, then the fact that it was published. */
export type PaymentJournalEntry = { readonly paid: PaymentEvent } | { readonly published: string };

const MEMORY_LIMIT = 100_000;

export class PaymentDesk {
  private readonly payments = new BoundedMap<string, PaymentRecord>(MEMORY_LIMIT);
  private readonly perOrder = new KeyedMutex<string>();

  constructor(
    private readonly broker: Pick<Broker, "publish">,
    private readonly provider: PaymentProvider,
    private readonly logger: Logger,
    private readonly onPaid: (outcome: "approved" | "declined") => void,
    private readonly journal: Journal<PaymentJournalEntry> = new Journal(undefined),
  ) {
    for (const entry of journal.load()) {
      if ("paid" in entry) this.payments.set(entry.paid.orderId, { event: entry.paid, published: false });
      else {
        const known = this.payments.get(entry.published);
        if (known) known.published = true;
      }
    }
    if (this.payments.size > 0) logger.info({ payments: this.payments.size, path: journal.path }, "payments recovered from the journal");
  }

  handle = (order: OrderCreated, info: DeliveryInfo): Promise<HandlerOutcome> =>
    this.perOrder.run(order.orderId, async () => {
      const known = this.payments.get(order.orderId);
      if (known?.published) {
        this.logger.info({ orderId: order.orderId, messageId: info.messageId }, "order already paid; duplicate ignored");
        return "duplicate";
      }
      const record = known ?? (await this.pay(order));
      await this.broker.publish(EXCHANGES.payments, record.event.type, encodeEvent(record.event), {
        messageId: record.event.id,
        correlationId: order.orderId,
        type: record.event.type,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { traceparent: formatTraceparent(childSpan(parseTraceparent(info.headers.traceparent))) },
      });
      record.published = true;
      this.journal.append({ published: order.orderId });
      return "processed";
    });

  find(orderId: string): PaymentEvent | undefined {
    return this.payments.get(orderId)?.event;
  }

  private async pay(order: OrderCreated): Promise<PaymentRecord> {
    const decision = await this.provider(order.orderId, order.data.totalCents);
    const outcome = decision.approved ? "approved" : "declined";
    const event: PaymentEvent = {
      type: decision.approved ? ROUTING_KEYS.paymentApproved : ROUTING_KEYS.paymentDeclined,
      version: EVENT_VERSION,
      id: randomUUID(),
      orderId: order.orderId,
      occurredAt: new Date().toISOString(),
      data: {
        paymentId: randomUUID(),
        amountCents: order.data.totalCents,
        currency: order.data.currency,
        orderCreatedAt: order.occurredAt,
        ...(decision.reason === undefined ? {} : { reason: decision.reason }),
      },
    };
    const record: PaymentRecord = { event, published: false };
    this.journal.append({ paid: event });
    this.payments.set(order.orderId, record);
    this.onPaid(outcome);
    this.logger.info({ orderId: order.orderId, paymentId: event.data.paymentId, outcome }, "payment processed");
    return record;
  }
}
