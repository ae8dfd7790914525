/**
 * Settings read from the environment, validated once at start. A bad value stops the
 * process with a message that names the variable, instead of surfacing later as a crash.
 */
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** What every service reads. */
export const commonSettingsSchema = z.object({
  /** Address to bind the HTTP server to. */
  HOST: z.string().min(1).default("127.0.0.1"),
  /** AMQP URL of the broker, with credentials and virtual host. */
  RABBITMQ_URL: z.string().regex(/^amqps?:\/\//, "must start with amqp:// or amqps://").default("amqp://guest:guest@127.0.0.1:5672"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Unacknowledged deliveries a consumer holds at once. */
  PREFETCH: positiveInt.max(65535).default(20),
  /** Deliveries of one message that fail before it is dead-lettered (first try included). */
  MAX_RETRIES: z.coerce.number().int().min(0).max(100).default(3),
  /** Delay before a failed message is tried again, in milliseconds. */
  RETRY_DELAY_MS: positiveInt.default(1000),
  /** How long a publish waits for the broker's confirm before it counts as failed. */
  PUBLISH_TIMEOUT_MS: positiveInt.default(5000),
  /** AMQP heartbeat; a silent broker is declared dead after about two of these. */
  HEARTBEAT_SECONDS: positiveInt.max(600).default(5),
  /** How long a graceful shutdown waits for work in flight. */
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
});

export type CommonSettings = z.infer<typeof commonSettingsSchema>;

/** Parses `env` with `schema`, or throws one error listing every bad variable. */
export function parseSettings<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  return result.data;
}

/** The common settings plus this service's port, whose default the contract gives. */
export function serviceSettingsSchema(defaultPort: number) {
  return commonSettingsSchema.extend({ PORT: port.default(defaultPort) });
}
