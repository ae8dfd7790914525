/** The order a client posts, and the money arithmetic that goes with it. */
import { z } from "zod";

/** At most two decimals: prices are cents written as decimal numbers. */
const price = z
  .number()
  .positive()
  .max(1_000_000)
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, "must have at most two decimals");

export const orderItemSchema = z.strictObject({
  sku: z.string().trim().min(1).max(64),
  quantity: z.number().int().min(1).max(1000),
  unitPrice: price,
});

export const orderRequestSchema = z.strictObject({
  customerId: z.string().trim().min(1).max(64),
  items: z.array(orderItemSchema).min(1).max(100),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
});

export type OrderItem = z.infer<typeof orderItemSchema>;
export type OrderRequest = z.infer<typeof orderRequestSchema>;

export interface FieldProblem {
  /** Where in the body, as a dotted path (`items.0.quantity`); `body` for the body itself. */
  readonly field: string;
  readonly message: string;
}

export type OrderValidation =
  | { readonly ok: true; readonly order: OrderRequest }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** Validates a parsed JSON body, naming every field that is wrong. */
export function validateOrderRequest(body: unknown): OrderValidation {
  const result = orderRequestSchema.safeParse(body);
  if (result.success) return { ok: true, order: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      field: issue.path.length === 0 ? "body" : issue.path.join("."),
      message: issue.path.length === 0 && issue.code === "invalid_type" ? "must be a JSON object" : issue.message,
    })),
  };
}

/** The order's total in minor units (cents), computed without floating-point drift. */
export function orderTotalCents(items: readonly OrderItem[]): number {
  return items.reduce((sum, item) => sum + Math.round(item.unitPrice * 100) * item.quantity, 0);
}
