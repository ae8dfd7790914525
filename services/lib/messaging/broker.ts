/**
 * The one place that talks to amqplib: connection lifecycle, confirmed publishing, and
 * consuming with retry and dead-letter.
 *
 * Reconnection with backoff is amqplib's own recovery; on every (re)connect our setup opens a
 * confirm channel for publishing and a channel for consuming, declares the topology, sets the
 * prefetch and starts the consumers again. Until that setup has finished the broker is not
 * ready, and a publish fails at once instead of writing to a dead channel.
 *
 * Deliveries are settled exactly once, and only on the channel they arrived on: a settle for a
 * channel that has since closed is dropped and logged (the broker redelivers that message), and
 * a second settle of the same delivery is ignored (the broker would close the channel for it).
 */
import { randomUUID } from "node:crypto";
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options, type RecoveringChannelModel } from "amqplib";
import { retryQueueOf } from "../../../contract/index.js";
import type { Logger } from "../observability/logger.js";
import type { ServiceMetrics } from "../observability/metrics.js";
import { BrokerUnavailableError, PermanentMessageError } from "./errors.js";
import { declareTopology } from "./topology.js";

/** AMQP reply codes after which reconnecting cannot help: bad credentials or vhost. */
const UNRECOVERABLE_CONNECT_ERRORS = [/ACCESS_REFUSED/, /\b403\b/, /NOT_ALLOWED/, /\b530\b/];

const RETRY_COUNT_HEADER = "x-retry-count";

export interface BrokerOptions {
  readonly url: string;
  /** Shown in RabbitMQ's management UI as the connection's name. */
  readonly connectionName: string;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** Unacknowledged deliveries this consumer channel may hold. */
  readonly prefetch: number;
  readonly heartbeatSeconds: number;
  /** How long a publish waits for its confirm before failing with BrokerUnavailableError. */
  readonly publishTimeoutMs: number;
  /** Deliveries of one message before it is dead-lettered, first attempt included. */
  readonly maxRetries: number;
  /** Delay before a failed message comes back, in milliseconds. */
  readonly retryDelayMs: number;
  /** Reconnect backoff. @default 250 ms doubling to 5 s */
  readonly reconnect?: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Called once when the broker refuses our credentials; reconnecting would not help. */
  readonly onFatal?: (error: Error) => void;
}

/** What a handler sees of a delivery besides the decoded event. */
export interface DeliveryInfo {
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly redelivered: boolean;
  /** Attempts before this one that failed and were retried. */
  readonly retries: number;
}

/** `processed` did the work; `duplicate` found it already done (idempotency). */
export type HandlerOutcome = "processed" | "duplicate";

export interface ConsumerSpec<T> {
  readonly queue: string;
  /** Decodes the body; throws PermanentMessageError for a body no retry can fix. */
  readonly decode: (content: Buffer) => T;
  /**
   * Does the work. Resolve to acknowledge; throw PermanentMessageError to dead-letter at once;
   * throw anything else to retry after a delay, up to the retry limit.
   */
  readonly handle: (event: T, info: DeliveryInfo) => Promise<HandlerOutcome>;
}

interface Session {
  readonly model: ChannelModel;
  readonly publisher: ConfirmChannel;
  readonly consumer: Channel;
  readonly consumerTags: string[];
}

export class Broker {
  private readonly options: BrokerOptions;
  private readonly log: Logger;
  private recovering?: RecoveringChannelModel;
  private session?: Session;
  private readonly closedChannels = new WeakSet<Channel>();
  private readonly consumers: ConsumerSpec<unknown>[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pendingConfirms = new Set<(error: Error) => void>();
  /** Publishes awaiting their confirm, by message id, for the broker's basic.return. */
  private readonly awaitingReturn = new Map<string, Set<(error: Error) => void>>();
  private stopping = false;
  /**
   * The broker blocks this connection (a resource alarm) and no longer reads from it. A publish
   * written now would wait in the socket, time out into a 503, and still be taken once the alarm
   * clears: refuse it without writing instead.
   */
  private blocked = false;
  private stopped?: Promise<void>;

  constructor(options: BrokerOptions) {
    this.options = options;
    this.log = options.logger.child({ component: "broker" });
  }

  /** Connected, topology declared, consumers running. */
  get ready(): boolean {
    return this.session !== undefined && !this.stopping;
  }

  /** Deliveries being handled right now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Registers a consumer; it starts on the next (re)connect, or now if connected. */
  async consume<T>(spec: ConsumerSpec<T>): Promise<void> {
    this.consumers.push(spec as ConsumerSpec<unknown>);
    const session = this.session;
    if (session) await this.startConsumer(session, spec as ConsumerSpec<unknown>);
  }

  /** Starts connecting in the background; resolves at once. Use `waitUntilReady` to wait. */
  async start(): Promise<void> {
    const { reconnect = { initialDelayMs: 250, maxDelayMs: 5000 } } = this.options;
    this.recovering = await connect(withHeartbeat(this.options.url, this.options.heartbeatSeconds), {
      // Bounds the TCP connect and the AMQP handshake: a frozen broker accepts TCP but never answers.
      timeout: 10_000,
      clientProperties: { connection_name: this.options.connectionName },
      recovery: {
        initialDelay: reconnect.initialDelayMs,
        maxDelay: reconnect.maxDelayMs,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.recovering.on("connect", () => {
      this.blocked = false;
      this.options.metrics.brokerConnected.set(1);
      this.log.info("connected to the broker, topology declared");
    });
    this.recovering.on("disconnect", (error: Error) => this.onDisconnect(error));
    this.recovering.on("reconnect-scheduled", ({ attempt, delay, error }) => {
      this.log.warn({ attempt, delayMs: delay, err: error }, "broker unreachable, reconnecting");
      if (UNRECOVERABLE_CONNECT_ERRORS.some((pattern) => pattern.test(String(error?.message)))) {
        this.log.fatal({ err: error }, "the broker refused our credentials or vhost");
        this.options.onFatal?.(error);
      }
    });
    this.recovering.on("error", (error: Error) => this.log.warn({ err: error }, "broker connection error"));
    this.recovering.on("blocked", (reason: string) => {
      this.blocked = true;
      this.log.warn({ reason }, "broker blocked publishing");
    });
    this.recovering.on("unblocked", () => {
      this.blocked = false;
      this.log.info("broker unblocked publishing");
    });
  }

  /** Resolves once ready, or rejects after `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ready) {
      if (Date.now() > deadline) throw new BrokerUnavailableError(`broker not ready after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /**
   * Publishes a persistent message and resolves once the broker confirms it.
   * Rejects with BrokerUnavailableError when not connected, on a nack, when the channel
   * closes first, or when no confirm arrives within the publish timeout.
   */
  publish(exchange: string, routingKey: string, content: Buffer, properties: Options.Publish): Promise<void> {
    // Allowed while stopping: deliveries being drained still publish their results.
    const session = this.session;
    if (!session) {
      return Promise.reject(new BrokerUnavailableError("not connected to the broker"));
    }
    if (this.blocked) {
      return Promise.reject(new BrokerUnavailableError("the broker is blocking publishers (resource alarm); nothing was sent"));
    }
    // Mandatory, so that a message no queue is bound for comes back (basic.return, always before
    // its confirm) instead of being confirmed and dropped; the message id pairs the two.
    const messageId = properties.messageId ?? randomUUID();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pendingConfirms.delete(finish);
        const waiting = this.awaitingReturn.get(messageId);
        waiting?.delete(finish);
        if (waiting?.size === 0) this.awaitingReturn.delete(messageId);
        if (error) {
          reject(error);
          return;
        }
        this.options.metrics.messagesPublished.inc({ exchange, routing_key: routingKey });
        resolve();
      };
      const timer = setTimeout(
        () => finish(new BrokerUnavailableError(`no publish confirm within ${this.options.publishTimeoutMs} ms`)),
        this.options.publishTimeoutMs,
      );
      this.pendingConfirms.add(finish);
      const waiting = this.awaitingReturn.get(messageId) ?? new Set();
      this.awaitingReturn.set(messageId, waiting.add(finish));
      try {
        session.publisher.publish(
          exchange,
          routingKey,
          content,
          { contentType: "application/json", ...properties, messageId, persistent: true, mandatory: true },
          (error: unknown) =>
            finish(error ? new BrokerUnavailableError("the broker did not confirm the message", { cause: error }) : undefined),
        );
      } catch (error) {
        finish(new BrokerUnavailableError("publish failed", { cause: error }));
      }
    });
  }

  /**
   * Stops taking deliveries, waits for those in flight (up to `timeoutMs`), then closes the
   * channels and the connection. Safe to call twice.
   */
  stop(timeoutMs: number): Promise<void> {
    this.stopped ??= this.shutdown(timeoutMs);
    return this.stopped;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const session = this.session;
    if (session) {
      await withTimeout(
        Promise.allSettled(session.consumerTags.map((tag) => session.consumer.cancel(tag))),
        Math.min(2000, timeoutMs),
      );
    }
    await withTimeout(Promise.allSettled([...this.inFlight]), timeoutMs);
    for (const fail of [...this.pendingConfirms]) fail(new BrokerUnavailableError("shutting down"));
    if (this.session) {
      // Close the channels first: a channel's close is ordered after its acks, while closing the
      // connection straight away can overtake acks still queued on the channel.
      const { consumer, publisher } = this.session;
      await withTimeout(Promise.allSettled([consumer.close(), publisher.close()]), 3000);
    }
    await withTimeout(this.recovering?.close() ?? Promise.resolve(), 3000);
    this.session = undefined;
    this.options.metrics.brokerConnected.set(0);
    this.log.info("broker connection closed");
  }

  /** Runs on every new connection, before it is handed out. */
  private async setup(model: ChannelModel): Promise<void> {
    const publisher = await model.createConfirmChannel();
    const consumer = await model.createChannel();
    for (const channel of [publisher, consumer]) {
      channel.on("error", (error: Error) => this.log.error({ err: error }, "channel error"));
      channel.on("close", () => this.onChannelClosed(model, channel));
    }
    publisher.on("return", (returned: ConsumeMessage) => {
      const { exchange, routingKey, replyText } = returned.fields as ConsumeMessage["fields"] & { replyText?: string };
      const id = returned.properties.messageId as string | undefined;
      this.log.error({ exchange, routingKey, messageId: id, replyText }, "the broker returned a message no queue is bound for");
      for (const fail of [...(this.awaitingReturn.get(String(id)) ?? [])]) {
        fail(new BrokerUnavailableError(`no queue is bound for ${exchange || "(default exchange)"} ${routingKey}: ${replyText ?? "unroutable"}`));
      }
    });
    await declareTopology(publisher);
    await consumer.prefetch(this.options.prefetch);
    const session: Session = { model, publisher, consumer, consumerTags: [] };
    for (const spec of this.consumers) await this.startConsumer(session, spec);
    this.session = session;
  }

  private async startConsumer(session: Session, spec: ConsumerSpec<unknown>): Promise<void> {
    const channel = session.consumer;
    const { consumerTag } = await channel.consume(
      spec.queue,
      (message) => {
        if (message === null) {
          // The broker cancelled us (queue deleted): start over on a new connection.
          this.log.error({ queue: spec.queue }, "consumer cancelled by the broker");
          session.model.close().catch(() => undefined);
          return;
        }
        this.track(this.dispatch(channel, spec, message));
      },
      { noAck: false },
    );
    session.consumerTags.push(consumerTag);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    work
      .catch((error: unknown) => this.log.error({ err: error }, "delivery handling failed unexpectedly"))
      .finally(() => this.inFlight.delete(work));
  }

  private async dispatch(channel: Channel, spec: ConsumerSpec<unknown>, message: ConsumeMessage): Promise<void> {
    const queue = spec.queue;
    const { messageId, correlationId } = message.properties;
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    const retries = retryCount(headers);
    const log = this.log.child({ queue, messageId, correlationId, deliveryTag: message.fields.deliveryTag });
    let settled = false;
    const settle = (how: "ack" | "reject", outcome: string): void => {
      if (settled) {
        log.warn({ outcome }, "delivery already settled; second settle ignored");
        return;
      }
      settled = true;
      if (this.closedChannels.has(channel)) {
        log.warn({ outcome }, "late settle dropped: the delivery's channel is gone, the broker will redeliver");
        return;
      }
      if (!sendSettle(() => (how === "ack" ? channel.ack(message) : channel.nack(message, false, false)), outcome)) return;
      log.debug({ how, outcome }, "delivery settled");
      this.options.metrics.messagesConsumed.inc({ queue, outcome });
    };
    // A channel that is closing (our shutdown, or a connection we are closing) has not emitted
    // 'close' yet but throws on every send: the broker requeues what it did not get acked.
    const sendSettle = (send: () => void, outcome: string): boolean => {
      try {
        send();
        return true;
      } catch (error) {
        log.warn({ err: error, outcome }, "late settle dropped: the delivery's channel is closing, the broker will redeliver");
        return false;
      }
    };
    const deadLetter = (reason: string, error: unknown): void => {
      log.error({ err: error, reason, retries }, "message dead-lettered");
      settle("reject", "dead_lettered");
      this.options.metrics.messagesDeadLettered.inc({ queue, reason });
    };

    let outcome: HandlerOutcome;
    try {
      const event = spec.decode(message.content);
      outcome = await spec.handle(event, {
        messageId,
        correlationId,
        headers,
        redelivered: message.fields.redelivered,
        retries,
      });
    } catch (error) {
      if (error instanceof PermanentMessageError) {
        deadLetter(error.reason, error);
        return;
      }
      if (retries + 1 >= this.options.maxRetries) {
        deadLetter("retries_exhausted", error);
        return;
      }
      try {
        await this.publish("", retryQueueOf(queue), message.content, {
          ...message.properties,
          headers: { ...headers, [RETRY_COUNT_HEADER]: retries + 1 },
          expiration: String(this.options.retryDelayMs),
        });
        log.warn({ err: error, retries: retries + 1 }, "handler failed; message scheduled for retry");
        settle("ack", "retried");
        this.options.metrics.messagesRetried.inc({ queue });
      } catch (publishError) {
        // The retry could not be scheduled: leave the delivery unsettled on this channel. If the
        // channel is closing the broker requeues it; otherwise requeue it ourselves.
        log.error({ err: publishError }, "could not schedule a retry; requeueing");
        if (!settled && !this.closedChannels.has(channel)) {
          settled = true;
          sendSettle(() => channel.nack(message, false, true), "requeued");
        }
      }
      return;
    }
    settle("ack", outcome === "duplicate" ? "duplicate" : "acked");
  }

  private onChannelClosed(model: ChannelModel, channel: Channel): void {
    this.closedChannels.add(channel);
    if (this.session?.model === model && !this.stopping) {
      // A channel died under a live connection (a protocol error): rebuild everything.
      this.log.error("a channel closed unexpectedly; reconnecting");
      this.dropSession(new BrokerUnavailableError("channel closed"));
      model.close().catch(() => undefined);
    }
  }

  private onDisconnect(error: Error): void {
    this.log.error({ err: error }, "lost the broker connection");
    this.dropSession(new BrokerUnavailableError("connection to the broker lost", { cause: error }));
  }

  private dropSession(reason: Error): void {
    if (this.session) {
      this.closedChannels.add(this.session.publisher);
      this.closedChannels.add(this.session.consumer);
    }
    this.session = undefined;
    this.blocked = false;
    this.options.metrics.brokerConnected.set(0);
    for (const fail of [...this.pendingConfirms]) fail(reason);
  }
}

/** Sets the heartbeat in the URL's query (where amqplib reads it) unless the URL sets one. */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("heartbeat")) parsed.searchParams.set("heartbeat", String(seconds));
  return parsed.toString();
}

function retryCount(headers: Record<string, unknown>): number {
  const value = Number(headers[RETRY_COUNT_HEADER] ?? 0);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
