import { describe, expect, test } from "vitest";
import { orderTotalCents, validateOrderRequest } from "../../services/lib/events/order.js";

const valid = {
  customerId: "c-1",
  items: [{ sku: "A", quantity: 3, unitPrice: 19.99 }],
  currency: "EUR",
};

describe("validateOrderRequest", () => {
  test("accepts a well-formed order", () => {
    expect(validateOrderRequest(valid)).toEqual({ ok: true, order: valid });
  });

  test.each([
    ["a string", "x", "body"],
    ["null", null, "body"],
    ["an array", [], "body"],
    ["items as a string", { ...valid, items: "x" }, "items"],
    ["no items", { ...valid, items: [] }, "items"],
    ["a zero quantity", { ...valid, items: [{ sku: "A", quantity: 0, unitPrice: 1 }] }, "items.0.quantity"],
    ["a fractional quantity", { ...valid, items: [{ sku: "A", quantity: 1.5, unitPrice: 1 }] }, "items.0.quantity"],
    ["a negative price", { ...valid, items: [{ sku: "A", quantity: 1, unitPrice: -1 }] }, "items.0.unitPrice"],
    ["a price with three decimals", { ...valid, items: [{ sku: "A", quantity: 1, unitPrice: 1.005 }] }, "items.0.unitPrice"],
    ["a blank sku", { ...valid, items: [{ sku: " ", quantity: 1, unitPrice: 1 }] }, "items.0.sku"],
    ["a lower-case currency", { ...valid, currency: "eur" }, "currency"],
    ["a missing customer", { items: valid.items, currency: "EUR" }, "customerId"],
    ["an unknown field", { ...valid, coupon: "FREE" }, "body"],
  ])("fails if the body has %s, naming the field", (_what, body, field) => {
    const result = validateOrderRequest(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.field)).toContain(field);
  });

  test("names every wrong field at once", () => {
    const result = validateOrderRequest({ items: "x" });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.field).sort()).toEqual(["currency", "customerId", "items"]);
  });
});

describe("orderTotalCents", () => {
  test("sums in cents without floating-point drift", () => {
    expect(orderTotalCents([{ sku: "A", quantity: 3, unitPrice: 0.1 }, { sku: "B", quantity: 1, unitPrice: 0.2 }])).toBe(50);
    expect(orderTotalCents([{ sku: "A", quantity: 3, unitPrice: 19.99 }])).toBe(5997);
  });
});
