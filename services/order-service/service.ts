/** order-service: takes orders over HTTP and publishes `order.created`. */
import { Counter } from "prom-client";
import { METRICS, SERVICES } from "../../contract/index.js";
import { parseSettings, serviceSettingsSchema } from "../lib/config/env.js";
import { jsonBody } from "../lib/http/app.js";
import { ERROR_CODES, HttpError } from "../lib/http/errors.js";
import { ServiceHost, type ServiceHostOptions } from "../lib/service.js";
import { OrderDesk } from "./orders.js";

export const orderSettingsSchema = serviceSettingsSchema(SERVICES.order.port);
export type OrderSettings = ReturnType<typeof orderSettingsSchema.parse>;

export function orderSettingsFrom(env: NodeJS.ProcessEnv): OrderSettings {
  return parseSettings(orderSettingsSchema, env);
}

export function createOrderService(settings: OrderSettings, options: ServiceHostOptions = {}) {
  const host = new ServiceHost(SERVICES.order.name, settings, options);
  const accepted = new Counter({
    name: METRICS.ordersAccepted,
    help: "Orders accepted: published and confirmed by the broker.",
    registers: [host.metrics.registry],
  });
  const desk = new OrderDesk(host.broker, () => accepted.inc());
  const route = SERVICES.order.route;

  const app = host.createApp((app) => {
    app.post(route, ...jsonBody(), async (req, res) => {
      const order = await desk.place(req.body, req.get("idempotency-key"), req.get("traceparent"));
      res.status(202).location(`${route}/${order.orderId}`).json({ orderId: order.orderId, status: order.status });
    });
    app.get(`${route}/:orderId`, (req, res) => {
      const order = desk.find(req.params.orderId);
      if (!order) throw new HttpError(404, ERROR_CODES.notFound, `no order ${req.params.orderId} here`);
      res.json(order);
    });
  });

  return { host, app, start: () => host.start(app), stop: () => host.stop() };
}
