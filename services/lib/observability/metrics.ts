/**
 * Metrics for one service instance. Each instance owns its registry, so creating an app
 * twice in one process (as tests do) never collides on metric registration.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { METRICS, SERVICE_LABEL } from "../../../contract/index.js";

const LINT_FAILING_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export class ServiceMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: METRICS.httpRequestDuration,
    help: "HTTP request duration by route template, method and status code.",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly messagesPublished = new Counter({
    name: METRICS.messagesPublished,
    help: "Messages published and confirmed by the broker.",
    labelNames: ["exchange", "routing_key"] as const,
    registers: [this.registry],
  });

  readonly messagesConsumed = new Counter({
    name: METRICS.messagesConsumed,
    help: "Deliveries settled, by queue and outcome (acked, retried, dead_lettered, duplicate).",
    labelNames: ["queue", "outcome"] as const,
    registers: [this.registry],
  });

  readonly messagesRetried = new Counter({
    name: METRICS.messagesRetried,
    help: "Deliveries sent to the retry queue after a transient failure.",
    labelNames: ["queue"] as const,
    registers: [this.registry],
  });

  readonly messagesDeadLettered = new Counter({
    name: METRICS.messagesDeadLettered,
    help: "Deliveries sent to the dead-letter queue, by reason.",
    labelNames: ["queue", "reason"] as const,
    registers: [this.registry],
  });

  readonly brokerConnected = new Gauge({
    name: METRICS.brokerConnected,
    help: "1 while connected to the broker with the topology declared, else 0.",
    registers: [this.registry],
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ [SERVICE_LABEL]: service });
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these three gauges with a counter's `_total` suffix, which
    // `promtool check metrics` rejects; nothing here reads them.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
