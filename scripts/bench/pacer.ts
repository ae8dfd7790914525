/**
 * Open-loop load at a fixed rate: requests leave on a schedule (every few milliseconds, as many
 * as are due), whether or not earlier ones have been answered, so a slow server shows up as
 * latency and backlog instead of silently lowering the rate. Bounded by time, and by a cap on
 * requests in flight past which the step is abandoned.
 */
import { Agent, request } from "node:http";

export interface PaceOptions {
  readonly url: string;
  readonly body: string;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Requests awaiting an answer past which the step gives up. */
  readonly maxInFlight: number;
  /** Sockets kept open to the server. */
  readonly sockets: number;
}

export interface PaceResult {
  readonly sent: number;
  /** Answers by status code. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: number;
  /** True when the in-flight cap was hit and sending stopped early. */
  readonly overwhelmed: boolean;
  readonly seconds: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}

const TICK_MS = 5;

export async function paceOrders(options: PaceOptions): Promise<PaceResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets });
  const target = new URL(options.url);
  const body = Buffer.from(options.body);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  let overwhelmed = false;
  const total = Math.round(options.rate * options.seconds);
  const started = performance.now();

  const fire = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      inFlight += 1;
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": body.length },
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          res.once("end", () => {
            inFlight -= 1;
            statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
            latencies.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.once("timeout", () => req.destroy(new Error("timeout")));
      req.once("error", () => {
        inFlight -= 1;
        errors += 1;
        resolve();
      });
      req.end(body);
    });

  const pending: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate));
    while (sent < due) {
      if (inFlight >= options.maxInFlight) {
        overwhelmed = true;
        break;
      }
      pending.push(fire());
      sent += 1;
    }
    if (overwhelmed) break;
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(
      (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 10,
    ) / 10;
  return {
    sent,
    statuses,
    errors,
    overwhelmed,
    seconds: (performance.now() - started) / 1000,
    latencyMs: { p50: at(0.5), p99: at(0.99) },
  };
}
