/**
 * Events on the wire: versioned JSON with an explicit schema.
 *
 * Every event is an envelope `{ type, version, id, orderId, occurredAt, data }`. The AMQP
 * properties repeat what brokers and tools look at: `messageId` = id, `correlationId` = orderId,
 * `type`, `timestamp`, `contentType: application/json`, and a `traceparent` header.
 */
import { z } from "zod";
import { ROUTING_KEYS } from "../../../contract/index.js";
import { PermanentMessageError } from "../messaging/errors.js";
import { orderItemSchema } from "./order.js";

export const EVENT_VERSION = 1;

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({
    type: z.literal(type),
    version: z.literal(EVENT_VERSION),
    id: z.uuid(),
    orderId: z.uuid(),
    occurredAt: z.iso.datetime(),
    data,
  });

export const orderCreatedSchema = envelope(
  ROUTING_KEYS.orderCreated,
  z.object({
    customerId: z.string().min(1),
    items: z.array(orderItemSchema).min(1),
    currency: z.string().length(3),
    totalCents: z.number().int().positive(),
  }),
);

const paymentData = z.object({
  paymentId: z.uuid(),
  amountCents: z.number().int().positive(),
  currency: z.string().length(3),
  /** When order-service accepted the order; notification measures latency from it. */
  orderCreatedAt: z.iso.datetime(),
  reason: z.string().optional(),
});

export const paymentApprovedSchema = envelope(ROUTING_KEYS.paymentApproved, paymentData);
export const paymentDeclinedSchema = envelope(ROUTING_KEYS.paymentDeclined, paymentData);
export const paymentEventSchema = z.discriminatedUnion("type", [paymentApprovedSchema, paymentDeclinedSchema]);

export type OrderCreated = z.infer<typeof orderCreatedSchema>;
export type PaymentEvent = z.infer<typeof paymentEventSchema>;

/** Decodes a message body against a schema, or throws PermanentMessageError (dead-letter it). */
export function decodeEvent<S extends z.ZodType>(schema: S, content: Buffer): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(content.toString("utf8"));
  } catch {
    throw new PermanentMessageError("invalid_json", "message body is not JSON");
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const where = result.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    throw new PermanentMessageError("invalid_schema", `message does not match its schema: ${where}`);
  }
  return result.data;
}

export function encodeEvent(event: { readonly type: string }): Buffer {
  return Buffer.from(JSON.stringify(event), "utf8");
}
