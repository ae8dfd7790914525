/** notification-service: consumes payment events and notifies, once per order. */
import { Histogram } from "prom-client";
import { METRICS, QUEUES, SERVICES } from "../../contract/index.js";
import { parseSettings, serviceSettingsSchema } from "../lib/config/env.js";
import { decodeEvent, paymentEventSchema } from "../lib/events/schemas.js";
import { ERROR_CODES, HttpError } from "../lib/http/errors.js";
import { ServiceHost, type ServiceHostOptions } from "../lib/service.js";
import { NotificationDesk } from "./notifications.js";

export const notificationSettingsSchema = serviceSettingsSchema(SERVICES.notification.port);
export type NotificationSettings = ReturnType<typeof notificationSettingsSchema.parse>;

export function notificationSettingsFrom(env: NodeJS.ProcessEnv): NotificationSettings {
  return parseSettings(notificationSettingsSchema, env);
}

export function createNotificationService(settings: NotificationSettings, options: ServiceHostOptions = {}) {
  const host = new ServiceHost(SERVICES.notification.name, settings, options);
  const latency = new Histogram({
    name: METRICS.orderToNotification,
    help: "Seconds from an order's acceptance by order-service to its notification.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [host.metrics.registry],
  });
  const desk = new NotificationDesk(host.logger, (seconds) => latency.observe(seconds));
  const route = SERVICES.notification.route;

  const app = host.createApp((app) => {
    app.get(`${route}/:orderId`, (req, res) => {
      const notification = desk.find(req.params.orderId);
      if (!notification) {
        throw new HttpError(404, ERROR_CODES.notFound, `no notification for order ${req.params.orderId} yet`);
      }
      res.json(notification);
    });
  });

  return {
    host,
    app,
    start: async () => {
      await host.broker.consume({
        queue: QUEUES.notificationPayments,
        decode: (content) => decodeEvent(paymentEventSchema, content),
        handle: desk.handle,
      });
      return host.start(app);
    },
    stop: () => host.stop(),
  };
}
