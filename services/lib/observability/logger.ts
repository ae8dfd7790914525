/** JSON logs through pino: one object per line, `service` on every line. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Credentials in a broker URL must never reach a log line.
    redact: { paths: ["url", "*.url", "rabbitmqUrl"], censor: redactUrl },
  });
}

function redactUrl(value: unknown): unknown {
  return typeof value === "string" ? value.replace(/\/\/[^@/]*@/, "//***@") : value;
}
