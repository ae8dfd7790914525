import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { BoundedMap, KeyedMutex } from "../../services/lib/bounded-map.js";
import { commonSettingsSchema, parseSettings, serviceSettingsSchema } from "../../services/lib/config/env.js";
import { Journal } from "../../services/lib/journal.js";
import { TOPOLOGY } from "../../services/lib/messaging/topology.js";
import { childSpan, formatTraceparent, parseTraceparent } from "../../services/lib/observability/trace.js";
import { paymentSettingsFrom } from "../../services/payment-service/service.js";
import { paymentSimulator, uniform } from "../../services/payment-service/simulator.js";
import { EXCHANGES, QUEUES, deadLetterQueueOf, retryQueueOf } from "../../contract/index.js";

describe("settings", () => {
  test("defaults apply and numbers are coerced", () => {
    const settings = parseSettings(commonSettingsSchema, { PREFETCH: "50" });
    expect(settings.PREFETCH).toBe(50);
    expect(settings.HOST).toBe("127.0.0.1");
  });

  test("fails if a variable is invalid, naming every bad one", () => {
    expect(() => parseSettings(commonSettingsSchema, { PREFETCH: "0", RABBITMQ_URL: "http://x" })).toThrow(
      /PREFETCH[\s\S]*RABBITMQ_URL|RABBITMQ_URL[\s\S]*PREFETCH/,
    );
  });
});

describe("topology", () => {
  test("every work queue dead-letters to its own DLQ and retries through its own retry queue", () => {
    for (const queue of Object.values(QUEUES)) {
      const work = TOPOLOGY.queues.find((q) => q.name === queue);
      expect(work?.arguments).toEqual({ "x-dead-letter-exchange": EXCHANGES.deadLetter, "x-dead-letter-routing-key": queue });
      const retry = TOPOLOGY.queues.find((q) => q.name === retryQueueOf(queue));
      expect(retry?.arguments).toEqual({ "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue });
      expect(TOPOLOGY.bindings).toContainEqual({ queue: deadLetterQueueOf(queue), exchange: EXCHANGES.deadLetter, pattern: queue });
    }
  });

  test("every binding names a declared queue and exchange", () => {
    const queues = new Set(TOPOLOGY.queues.map((q) => q.name));
    const exchanges = new Set(TOPOLOGY.exchanges.map((e) => e.name));
    for (const b of TOPOLOGY.bindings) {
      expect(queues.has(b.queue), b.queue).toBe(true);
      expect(exchanges.has(b.exchange), b.exchange).toBe(true);
    }
  });
});

describe("traceparent", () => {
  test("a child span keeps the trace id and gets a new span id", () => {
    const parent = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    const child = childSpan(parent);
    expect(child.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(child.spanId).not.toBe("00f067aa0ba902b7");
    expect(formatTraceparent(child)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  test.each(["", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", 42])(
    "fails to parse %j and a new trace starts instead",
    (header) => {
      expect(parseTraceparent(header)).toBeUndefined();
      expect(childSpan(parseTraceparent(header)).traceId).toMatch(/^[0-9a-f]{32}$/);
    },
  );
});

describe("payment simulator", () => {
  test("with a seed, the outcome depends only on the seed and the order", async () => {
    const a = paymentSimulator({ latencyMs: 0, declineRate: 0.5, seed: "s1" });
    const b = paymentSimulator({ latencyMs: 0, declineRate: 0.5, seed: "s1" });
    const ids = Array.from({ length: 50 }, (_, i) => `order-${i}`);
    const first = await Promise.all(ids.map((id) => a(id, 100)));
    const second = await Promise.all(ids.map((id) => b(id, 100)));
    expect(second).toEqual(first);
    const declined = first.filter((d) => !d.approved).length;
    expect(declined).toBeGreaterThan(10);
    expect(declined).toBeLessThan(40);
  });

  test("uniform draws spread over [0, 1)", () => {
    const draws = Array.from({ length: 2000 }, (_, i) => uniform(`x${i}`));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(draws.filter((d) => d < 0.5).length).toBeGreaterThan(900);
    expect(draws.filter((d) => d < 0.5).length).toBeLessThan(1100);
  });

  test("fails if the decline rate is outside 0..1", () => {
    expect(() => paymentSimulator({ latencyMs: 0, declineRate: 1.5 })).toThrow(/declineRate must be between 0 and 1, but 1.5/);
  });
});

describe("BoundedMap and KeyedMutex", () => {
  test("the oldest entries go past the limit", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("c", 3);
    expect([map.has("a"), map.has("b"), map.has("c")]).toEqual([false, true, true]);
  });

  test("one task per key at a time, other keys in parallel", async () => {
    const mutex = new KeyedMutex<string>();
    const order: string[] = [];
    const task = (name: string, ms: number) => async () => {
      order.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}:end`);
    };
    await Promise.all([mutex.run("k", task("a", 30)), mutex.run("k", task("b", 1)), mutex.run("other", task("c", 1))]);
    expect(order.indexOf("b:start")).toBeGreaterThan(order.indexOf("a:end"));
    expect(order.indexOf("c:end")).toBeLessThan(order.indexOf("a:end"));
  });
});

describe("settings that are present but wrong", () => {
  test.each(["PORT", "MAX_RETRIES", "PREFETCH"])("an empty or blank %s stops the service instead of meaning 0", (name) => {
    for (const value of ["", "  "]) {
      expect(() => parseSettings(serviceSettingsSchema(3000), { [name]: value }), `${name}=${JSON.stringify(value)}`).toThrow(
        new RegExp(name),
      );
    }
  });

  test.each(["PAYMENT_LATENCY_MS", "PAYMENT_DECLINE_RATE"])("an empty %s stops payment-service", (name) => {
    expect(() => paymentSettingsFrom({ [name]: "" })).toThrow(new RegExp(name));
    expect(paymentSettingsFrom({ [name]: "0" })[name as "PAYMENT_LATENCY_MS"]).toBe(0);
  });

  test("a RABBITMQ_URL that is not a URL stops the service naming the variable", () => {
    expect(() => parseSettings(commonSettingsSchema, { RABBITMQ_URL: "amqp://[bad" })).toThrow(/RABBITMQ_URL/);
  });

  test("a RABBITMQ_URL with the default vhost as %2F and its own heartbeat is accepted", () => {
    const url = "amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=10";
    expect(parseSettings(commonSettingsSchema, { RABBITMQ_URL: url }).RABBITMQ_URL).toBe(url);
  });
});

describe("journal", () => {
  test("a record appended after a torn last line survives the next restart", () => {
    const path = join(mkdtempSync(join(tmpdir(), "orderlab-journal-unit-")), "j.jsonl");
    writeFileSync(path, '{"paid":"a"}\n{"paid":"b", "torn');
    const journal = new Journal<{ paid: string }>(path);
    expect(journal.load()).toEqual([{ paid: "a" }]);
    journal.append({ paid: "c" });
    journal.close();
    expect(new Journal<{ paid: string }>(path).load()).toEqual([{ paid: "a" }, { paid: "c" }]);
  });
});

describe("KeyedMutex", () => {
  test("holds nothing for a key once its tasks are done, whether they resolved or threw", async () => {
    const mutex = new KeyedMutex<string>();
    await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) =>
        mutex.run(`k${i % 10}`, async () => {
          if (i % 3 === 0) throw new Error("boom");
          return i;
        }),
      ),
    );
    expect((mutex as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });
});
