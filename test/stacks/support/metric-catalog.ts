/**
 * Metric names a PromQL expression in this project may use: the services' metrics from the
 * contract (histograms with their _bucket/_sum/_count series), prom-client's default process
 * and Node.js metrics, and the RabbitMQ Prometheus plugin's metrics.
 */
import { METRICS } from "../../../contract/index.js";

const HISTOGRAMS = [METRICS.httpRequestDuration, METRICS.orderToNotification];

const CONTRACT = [
  ...Object.values(METRICS),
  ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
];

/** prom-client 15 `collectDefaultMetrics()`. */
const PROM_CLIENT_DEFAULTS = [
  "process_cpu_user_seconds_total",
  "process_cpu_system_seconds_total",
  "process_cpu_seconds_total",
  "process_start_time_seconds",
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
  "nodejs_eventloop_lag_seconds",
  "nodejs_eventloop_lag_min_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_eventloop_lag_mean_seconds",
  "nodejs_eventloop_lag_stddev_seconds",
  "nodejs_eventloop_lag_p50_seconds",
  "nodejs_eventloop_lag_p90_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "nodejs_heap_size_total_bytes",
  "nodejs_heap_size_used_bytes",
  "nodejs_external_memory_bytes",
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
  "nodejs_version_info",
  "nodejs_gc_duration_seconds_bucket",
  "nodejs_gc_duration_seconds_sum",
  "nodejs_gc_duration_seconds_count",
];

/** rabbitmq_prometheus, including the per-object endpoint's queue metrics. */
const RABBITMQ_PLUGIN = [
  "rabbitmq_queue_messages",
  "rabbitmq_queue_messages_ready",
  "rabbitmq_queue_messages_unacked",
  "rabbitmq_queue_consumers",
  "rabbitmq_queue_messages_published_total",
  "rabbitmq_connections",
  "rabbitmq_channels",
  "rabbitmq_consumers",
  "rabbitmq_queues",
  "rabbitmq_process_resident_memory_bytes",
  "rabbitmq_resident_memory_limit_bytes",
  "rabbitmq_disk_space_available_bytes",
  "rabbitmq_global_messages_received_total",
  "rabbitmq_global_messages_delivered_total",
  "rabbitmq_global_messages_acknowledged_total",
  "rabbitmq_global_messages_dead_lettered_confirmed_total",
];

export const KNOWN_METRICS: ReadonlySet<string> = new Set([...CONTRACT, ...PROM_CLIENT_DEFAULTS, ...RABBITMQ_PLUGIN]);

const KEYWORDS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf", "nan",
]);

/**
 * Metric names referenced by a PromQL expression: identifiers that are not functions,
 * aggregations, keywords, label names inside `{...}` or grouping clauses.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(name)) continue;
    if (/^\d/.test(name)) continue;
    names.push(name);
  }
  return names;
}
