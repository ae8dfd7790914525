/** payment-service: consumes `order.created`, pays, publishes `payment.approved|declined`. */
import { z } from "zod";
import { Counter } from "prom-client";
import { METRICS, QUEUES, SERVICES } from "../../contract/index.js";
import { envNumber, parseSettings, serviceSettingsSchema } from "../lib/config/env.js";
import { decodeEvent, orderCreatedSchema } from "../lib/events/schemas.js";
import { ERROR_CODES, HttpError } from "../lib/http/errors.js";
import { Journal } from "../lib/journal.js";
import { ServiceHost, type ServiceHostOptions } from "../lib/service.js";
import { PaymentDesk, type PaymentJournalEntry } from "./payments.js";
import { paymentSimulator, type PaymentProvider } from "./simulator.js";

export const paymentSettingsSchema = serviceSettingsSchema(SERVICES.payment.port).extend({
  /** Simulated time the payment provider takes, per payment. */
  PAYMENT_LATENCY_MS: envNumber().pipe(z.number().int().min(0).max(60_000)).default(20),
  /** Share of payments declined, 0 to 1. */
  PAYMENT_DECLINE_RATE: envNumber().pipe(z.number().min(0).max(1)).default(0.1),
  /** Makes outcomes repeatable: a function of the seed and the order id. */
  PAYMENT_SEED: z.string().min(1).optional(),
  /**
   * File where payments are journalled, so a restarted process still knows which orders it
   * paid. Without it, that memory ends with the process.
   */
  PAYMENT_JOURNAL: z.string().min(1).optional(),
});
export type PaymentSettings = z.infer<typeof paymentSettingsSchema>;

export function paymentSettingsFrom(env: NodeJS.ProcessEnv): PaymentSettings {
  return parseSettings(paymentSettingsSchema, env);
}

export interface PaymentServiceOptions extends ServiceHostOptions {
  /** Replaces the simulator (tests use it to make payments fail). */
  readonly provider?: PaymentProvider;
}

export function createPaymentService(settings: PaymentSettings, options: PaymentServiceOptions = {}) {
  const host = new ServiceHost(SERVICES.payment.name, settings, options);
  const processed = new Counter({
    name: METRICS.paymentsProcessed,
    help: "Payments decided, by outcome.",
    labelNames: ["outcome"] as const,
    registers: [host.metrics.registry],
  });
  const provider =
    options.provider ??
    paymentSimulator({
      latencyMs: settings.PAYMENT_LATENCY_MS,
      declineRate: settings.PAYMENT_DECLINE_RATE,
      ...(settings.PAYMENT_SEED === undefined ? {} : { seed: settings.PAYMENT_SEED }),
    });
  const journal = new Journal<PaymentJournalEntry>(settings.PAYMENT_JOURNAL);
  const desk = new PaymentDesk(host.broker, provider, host.logger, (outcome) => processed.inc({ outcome }), journal);
  const route = SERVICES.payment.route;

  const app = host.createApp((app) => {
    app.get(`${route}/:orderId`, (req, res) => {
      const payment = desk.find(req.params.orderId);
      if (!payment) throw new HttpError(404, ERROR_CODES.notFound, `no payment for order ${req.params.orderId} yet`);
      res.json({ orderId: payment.orderId, status: payment.type === "payment.approved" ? "approved" : "declined", ...payment.data });
    });
  });

  return {
    host,
    app,
    start: async () => {
      await host.broker.consume({
        queue: QUEUES.paymentOrders,
        decode: (content) => decodeEvent(orderCreatedSchema, content),
        handle: desk.handle,
      });
      return host.start(app);
    },
    stop: async () => {
      await host.stop();
      journal.close();
    },
  };
}
