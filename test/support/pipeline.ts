/** Starts the three services in this process against a real broker, on free ports. */
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { createNotificationService, notificationSettingsFrom } from "../../services/notification-service/service.js";
import { createOrderService, orderSettingsFrom } from "../../services/order-service/service.js";
import { createPaymentService, paymentSettingsFrom, type PaymentServiceOptions } from "../../services/payment-service/service.js";

export interface LogLine {
  readonly level: number;
  readonly service: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino logger that keeps every line in memory for assertions. */
export function capturingLogger(service: string, lines: LogLine[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return pino({ level: "debug", base: { service } }, sink);
}

export interface PipelineOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly payment?: Pick<PaymentServiceOptions, "provider">;
  /** Which services to start. @default all three */
  readonly only?: readonly ("order" | "payment" | "notification")[];
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

export async function startPipeline(rabbitmqUrl: string, options: PipelineOptions = {}) {
  const env = {
    HOST: "127.0.0.1",
    PORT: "0",
    RABBITMQ_URL: rabbitmqUrl,
    RETRY_DELAY_MS: "200",
    PUBLISH_TIMEOUT_MS: "3000",
    HEARTBEAT_SECONDS: "2",
    PAYMENT_LATENCY_MS: "0",
    PAYMENT_DECLINE_RATE: "0",
    SHUTDOWN_TIMEOUT_MS: "5000",
    ...options.env,
  };
  const logs: LogLine[] = [];
  const fatal: Error[] = [];
  const onFatal = (error: Error) => fatal.push(error);
  const wanted = new Set(options.only ?? ["order", "payment", "notification"]);
  const order = createOrderService(orderSettingsFrom(env), { logger: capturingLogger("order-service", logs), onFatal });
  const payment = createPaymentService(paymentSettingsFrom(env), {
    logger: capturingLogger("payment-service", logs),
    onFatal,
    ...options.payment,
  });
  const notification = createNotificationService(notificationSettingsFrom(env), {
    logger: capturingLogger("notification-service", logs),
    onFatal,
  });
  const started = [
    ...(wanted.has("order") ? [order] : []),
    ...(wanted.has("payment") ? [payment] : []),
    ...(wanted.has("notification") ? [notification] : []),
  ];
  const ports = new Map<unknown, number>();
  for (const service of started) ports.set(service, await service.start());
  for (const service of started) await service.host.broker.waitUntilReady(20_000);
  const url = (service: unknown) => `http://127.0.0.1:${ports.get(service)}`;

  return {
    order,
    payment,
    notification,
    logs,
    fatal,
    orderUrl: url(order),
    paymentUrl: url(payment),
    notificationUrl: url(notification),
    allReady: () => started.every((s) => s.host.broker.ready),
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}
