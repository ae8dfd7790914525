/**
 * Notifying the customer of a payment, once per order: one structured log line, a record
 * that `GET /notify/:orderId` returns, and the order-to-notification latency observed.
 */
import { BoundedMap, KeyedMutex } from "../lib/bounded-map.js";
import type { PaymentEvent } from "../lib/events/schemas.js";
import type { DeliveryInfo, HandlerOutcome } from "../lib/messaging/broker.js";
import type { Logger } from "../lib/observability/logger.js";

export interface Notification {
  readonly orderId: string;
  readonly paymentId: string;
  readonly status: "confirmed" | "payment_declined";
  readonly amountCents: number;
  readonly currency: string;
  readonly orderCreatedAt: string;
  readonly notifiedAt: string;
  /** From the order's acceptance by order-service to this notification. */
  readonly latencySeconds: number;
}

const MEMORY_LIMIT = 100_000;

export class NotificationDesk {
  private readonly notifications = new BoundedMap<string, Notification>(MEMORY_LIMIT);
  private readonly perOrder = new KeyedMutex<string>();

  constructor(
    private readonly logger: Logger,
    private readonly onNotified: (latencySeconds: number) => void,
  ) {}

  handle = (payment: PaymentEvent, info: DeliveryInfo): Promise<HandlerOutcome> =>
    this.perOrder.run(payment.orderId, async () => {
      if (this.notifications.has(payment.orderId)) {
        this.logger.info({ orderId: payment.orderId, messageId: info.messageId }, "already notified; duplicate ignored");
        return "duplicate";
      }
      const now = new Date();
      const latencySeconds = Math.max(0, (now.getTime() - Date.parse(payment.data.orderCreatedAt)) / 1000);
      const notification: Notification = {
        orderId: payment.orderId,
        paymentId: payment.data.paymentId,
        status: payment.type === "payment.approved" ? "confirmed" : "payment_declined",
        amountCents: payment.data.amountCents,
        currency: payment.data.currency,
        orderCreatedAt: payment.data.orderCreatedAt,
        notifiedAt: now.toISOString(),
        latencySeconds,
      };
      this.notifications.set(payment.orderId, notification);
      this.onNotified(latencySeconds);
      this.logger.info(
        { ...notification, messageId: info.messageId, traceparent: info.headers.traceparent },
        notification.status === "confirmed" ? "order confirmed" : "order payment declined",
      );
      return "processed";
    });

  find(orderId: string): Notification | undefined {
    return this.notifications.get(orderId);
  }
}
