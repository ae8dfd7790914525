/** Errors the messaging layer and its callers classify on. */

/**
 * The broker did not take a message: not connected, the channel closed, the confirm timed out
 * or the broker refused it. Nothing may be assumed published; callers answer 503 or retry.
 */
export class BrokerUnavailableError extends Error {
  readonly code = "BROKER_ERR_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BrokerUnavailableError";
  }
}

/**
 * A message that no retry can fix (unparseable, fails its schema, refers to nothing).
 * A consumer handler throws it to send the delivery straight to the dead-letter queue.
 */
export class PermanentMessageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "PermanentMessageError";
  }
}
