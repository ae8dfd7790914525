/**
 * The simulated payment provider: a fixed latency and a decline rate. Given a seed, the
 * outcome for an order depends only on the seed and the order id, so runs can be repeated.
 */
import { createHash } from "node:crypto";

export interface PaymentDecision {
  readonly approved: boolean;
  readonly reason?: string;
}

export interface PaymentSimulatorOptions {
  readonly latencyMs: number;
  /** Share of payments declined, from 0 to 1. */
  readonly declineRate: number;
  /** Makes outcomes a function of (seed, orderId). @default - outcomes are random */
  readonly seed?: string;
}

export type PaymentProvider = (orderId: string, amountCents: number) => Promise<PaymentDecision>;

export function paymentSimulator(options: PaymentSimulatorOptions): PaymentProvider {
  const { latencyMs, declineRate, seed } = options;
  if (!(declineRate >= 0 && declineRate <= 1)) {
    throw new RangeError(`declineRate must be between 0 and 1, but ${declineRate} was provided`);
  }
  return async (orderId) => {
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const draw = seed === undefined ? Math.random() : uniform(`${seed}:${orderId}`);
    return draw < declineRate ? { approved: false, reason: "card_declined" } : { approved: true };
  };
}

/** A number in [0, 1) from the first 48 bits of a SHA-256. */
export function uniform(text: string): number {
  const digest = createHash("sha256").update(text).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
