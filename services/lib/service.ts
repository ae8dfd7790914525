/**
 * What turns a service's routes and consumers into a running process: settings, logger,
 * metrics, broker, HTTP server, and the graceful shutdown that ties them together.
 */
import type { Express } from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CommonSettings } from "./config/env.js";
import { answerClientErrorsWithJson, createHttpApp } from "./http/app.js";
import { Broker } from "./messaging/broker.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { ServiceMetrics } from "./observability/metrics.js";

export interface ServiceSettings extends CommonSettings {
  readonly PORT: number;
}

export interface ServiceHostOptions {
  /** Use this logger instead of one built from LOG_LEVEL (tests pass a silent or captured one). */
  readonly logger?: Logger;
  /** Called when the broker refuses our credentials. @default - log and exit the process with 1 */
  readonly onFatal?: (error: Error) => void;
}

export class ServiceHost {
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly broker: Broker;
  private server?: Server;
  private stopping?: Promise<void>;

  constructor(
    readonly name: string,
    readonly settings: ServiceSettings,
    options: ServiceHostOptions = {},
  ) {
    this.logger = options.logger ?? createLogger(name, settings.LOG_LEVEL);
    this.metrics = new ServiceMetrics(name);
    this.broker = new Broker({
      url: settings.RABBITMQ_URL,
      connectionName: name,
      logger: this.logger,
      metrics: this.metrics,
      prefetch: settings.PREFETCH,
      heartbeatSeconds: settings.HEARTBEAT_SECONDS,
      publishTimeoutMs: settings.PUBLISH_TIMEOUT_MS,
      maxRetries: settings.MAX_RETRIES,
      retryDelayMs: settings.RETRY_DELAY_MS,
      onFatal:
        options.onFatal ??
        (() => {
          process.exitCode = 1;
          void this.stop().finally(() => process.exit(1));
        }),
    });
  }

  /** Builds the Express app with the shared middleware around the service's routes. */
  createApp(routes: (app: Express) => void): Express {
    return createHttpApp({ logger: this.logger, metrics: this.metrics, isReady: () => this.broker.ready, routes });
  }

  /**
   * Starts the broker connection (in the background: /ready tells when it is up) and the HTTP
   * server. Resolves with the port actually bound (PORT=0 picks a free one).
   */
  async start(app: Express): Promise<number> {
    await this.broker.start();
    const server = app.listen(this.settings.PORT, this.settings.HOST);
    answerClientErrorsWithJson(server);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    const port = (server.address() as AddressInfo).port;
    this.logger.info({ host: this.settings.HOST, port }, "listening");
    return port;
  }

  /**
   * Graceful shutdown: stop accepting connections, let requests in flight finish, stop
   * consuming and finish deliveries in flight, close the channels. Bounded by SHUTDOWN_TIMEOUT_MS.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const timeoutMs = this.settings.SHUTDOWN_TIMEOUT_MS;
    this.logger.info("shutting down");
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      await closed;
      clearTimeout(timer);
    }
    await this.broker.stop(timeoutMs);
    this.logger.info("stopped");
  }
}

/**
 * Runs a started service until SIGTERM or SIGINT, then shuts it down gracefully and exits.
 * Unhandled rejections and uncaught exceptions are logged; an uncaught exception also exits,
 * since the process state is unknown after it.
 */
export function runUntilSignalled(host: ServiceHost): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    // A process group killed and then each child (npm, tsx, a supervisor) sends more than one
    // signal; the first starts the shutdown, the others must not cut it short.
    if (stopping) {
      host.logger.info({ signal }, "signal received while shutting down; finishing the work in flight");
      return;
    }
    stopping = true;
    host.logger.info({ signal }, "signal received");
    host
      .stop()
      .then(() => process.exit(process.exitCode ?? 0))
      .catch((error: unknown) => {
        host.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("unhandledRejection", (reason) => {
    host.logger.error({ err: reason }, "unhandled promise rejection");
  });
  process.on("uncaughtException", (error) => {
    host.logger.fatal({ err: error }, "uncaught exception");
    process.exitCode = 1;
    shutdown("uncaughtException");
  });
}
