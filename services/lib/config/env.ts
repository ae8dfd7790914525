/**
 * Settings read from the environment, validated once at start. A bad value stops the
 * process with a message that names the variable, instead of surfacing later as a crash.
 */
import { z } from "zod";

/**
 * A number from the environment. An empty or blank value is refused rather than coerced to 0
 * (`Number("")` is 0): `PORT=` would otherwise bind a random port and `MAX_RETRIES=` would
 * dead-letter on the first failure, both silently.
 */
export const envNumber = () =>
  z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? Number.NaN : value), z.coerce.number());
const port = envNumber().pipe(z.number().int().min(0).max(65535));
const positiveInt = envNumber().pipe(z.number().int().positive());

/** Parses like amqplib does; a string that is not a URL would otherwise crash the start. */
const isUrl = (value: string): boolean => {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
};

/** What every service reads. */
export const commonSettingsSchema = z.object({
  /** Address to bind the HTTP server to. */
  HOST: z.string().min(1).default("127.0.0.1"),
  /** AMQP URL of the broker, with credentials and virtual host. */
  RABBITMQ_URL: z
    .string()
    .regex(/^amqps?:\/\//, "must start with amqp:// or amqps://")
    .refine(isUrl, "is not a valid URL")
    .default("amqp://guest:guest@127.0.0.1:5672"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Unacknowledged deliveries a consumer holds at once. */
  PREFETCH: envNumber().pipe(z.number().int().positive().max(65535)).default(20),
  /** Deliveries of one message that fail before it is dead-lettered (first try included). */
  MAX_RETRIES: envNumber().pipe(z.number().int().min(0).max(100)).default(3),
  /** Delay before a failed message is tried again, in milliseconds. */
  RETRY_DELAY_MS: positiveInt.default(1000),
  /** How long a publish waits for the broker's confirm before it counts as failed. */
  PUBLISH_TIMEOUT_MS: positiveInt.default(5000),
  /** AMQP heartbeat; a silent broker is declared dead after about two of these. */
  HEARTBEAT_SECONDS: envNumber().pipe(z.number().int().positive().max(600)).default(5),
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
