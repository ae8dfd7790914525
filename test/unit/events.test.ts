import { randomUUID } from "node:crypto";
import { describe, expect, test } from "vitest";
import { PermanentMessageError } from "../../services/lib/messaging/errors.js";
import { decodeEvent, encodeEvent, orderCreatedSchema, paymentEventSchema } from "../../services/lib/events/schemas.js";

const orderCreated = {
  type: "order.created",
  version: 1,
  id: randomUUID(),
  orderId: randomUUID(),
  occurredAt: new Date().toISOString(),
  data: { customerId: "c-1", items: [{ sku: "A", quantity: 1, unitPrice: 2.5 }], currency: "EUR", totalCents: 250 },
};

describe("event schemas", () => {
  test("an encoded event decodes to itself", () => {
    expect(decodeEvent(orderCreatedSchema, encodeEvent(orderCreated))).toEqual(orderCreated);
  });

  test("payment events are told apart by type", () => {
    const base = {
      version: 1,
      id: randomUUID(),
      orderId: randomUUID(),
      occurredAt: new Date().toISOString(),
      data: { paymentId: randomUUID(), amountCents: 250, currency: "EUR", orderCreatedAt: new Date().toISOString() },
    };
    expect(decodeEvent(paymentEventSchema, encodeEvent({ ...base, type: "payment.declined" })).type).toBe("payment.declined");
    expect(() => decodeEvent(paymentEventSchema, encodeEvent({ ...base, type: "payment.refunded" }))).toThrow(PermanentMessageError);
  });

  test("fails if the body is not JSON, with reason invalid_json", () => {
    expect(() => decodeEvent(orderCreatedSchema, Buffer.from("{nope"))).toThrow(
      expect.objectContaining({ reason: "invalid_json" }),
    );
  });

  test.each([
    ["another version", { ...orderCreated, version: 2 }],
    ["a non-uuid order id", { ...orderCreated, orderId: "42" }],
    ["no data", { ...orderCreated, data: undefined }],
    ["a wrong type", { ...orderCreated, type: "order.updated" }],
  ])("fails if the event has %s, with reason invalid_schema", (_what, event) => {
    expect(() => decodeEvent(orderCreatedSchema, encodeEvent(event))).toThrow(
      expect.objectContaining({ reason: "invalid_schema" }),
    );
  });
});
