/**
 * What the services and their deployment must agree on: service names, ports, HTTP routes,
 * exchanges, queues and metric names.
 *
 * Both `services/` and `stacks/` import this module and nothing else from each other, so a
 * renamed queue, route or metric cannot drift between the code and the jobs that run it.
 * It holds plain data only: no imports, no side effects.
 */

/** The three application services, with their default port and their public route prefix. */
export const SERVICES = {
  order: { name: "order-service", port: 3000, route: "/order" },
  payment: { name: "payment-service", port: 3001, route: "/payment" },
  notification: { name: "notification-service", port: 3002, route: "/notify" },
} as const;

export type ServiceKey = keyof typeof SERVICES;
export type ServiceName = (typeof SERVICES)[ServiceKey]["name"];

/** Paths every service answers besides its own routes. */
export const OPERATIONAL_PATHS = {
  /** Liveness: the process is up and its event loop turns. */
  health: "/health",
  /** Readiness: connected to the broker with the topology declared. */
  ready: "/ready",
  /** Prometheus exposition format. */
  metrics: "/metrics",
} as const;

/** Exchanges. Every one is durable. */
export const EXCHANGES = {
  /** Topic exchange for order events (`order.*`), published by order-service. */
  orders: "orders",
  /** Topic exchange for payment events (`payment.*`), published by payment-service. */
  payments: "payments",
  /** Direct exchange where work queues dead-letter; routing key is the source queue name. */
  deadLetter: "dead-letter",
} as const;

/** Routing keys, `entity.event`. The event's schema name is the same string. */
export const ROUTING_KEYS = {
  orderCreated: "order.created",
  paymentApproved: "payment.approved",
  paymentDeclined: "payment.declined",
} as const;

/**
 * Work queues, named `consumer.purpose`. Each has a retry queue (`<name>.retry`, a TTL delay
 * that dead-letters back into the work queue) and a dead-letter queue (`<name>.dlq`).
 */
export const QUEUES = {
  paymentOrders: "payment-service.order-created",
  notificationPayments: "notification-service.payment-completed",
} as const;

export const retryQueueOf = (queue: string): string => `${queue}.retry`;
export const deadLetterQueueOf = (queue: string): string => `${queue}.dlq`;

/** Metric names the services export (prom-client, snake_case, unit suffixes). */
export const METRICS = {
  httpRequestDuration: "http_request_duration_seconds",
  messagesPublished: "messages_published_total",
  messagesConsumed: "messages_consumed_total",
  messagesRetried: "messages_retried_total",
  messagesDeadLettered: "messages_dead_lettered_total",
  paymentsProcessed: "payments_processed_total",
  ordersAccepted: "orders_accepted_total",
  orderToNotification: "order_to_notification_seconds",
  brokerConnected: "broker_connected",
} as const;

/** Label put on every metric by every service. */
export const SERVICE_LABEL = "service";

/** RabbitMQ's default ports. */
export const RABBITMQ = {
  amqpPort: 5672,
  managementPort: 15672,
  prometheusPort: 15692,
} as const;
