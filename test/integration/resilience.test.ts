/**
 * The broker going away under load: restarted, frozen, or cutting a connection while confirms
 * are pending. No service exits, no request hangs, and every order answered 202 is notified.
 */
import { afterEach, describe, expect, test } from "vitest";
import { useTestBroker, uniqueVhost } from "../support/broker.js";
import { getJson, postJson, sampleOrder, sleep, waitFor } from "../support/http.js";
import { startPipeline, type Pipeline } from "../support/pipeline.js";

const broker = useTestBroker();
let pipeline: Pipeline | undefined;
let vhost: string;

afterEach(async () => {
  broker.thaw();
  await pipeline?.stop();
  pipeline = undefined;
  await broker.deleteVhost(vhost).catch(() => undefined);
});

async function freshPipeline(): Promise<Pipeline> {
  vhost = uniqueVhost("resilience");
  pipeline = await startPipeline(await broker.createVhost(vhost));
  return pipeline;
}

interface Outcome {
  readonly status: number | "timeout" | "network";
  readonly orderId?: string;
}

/** Posts orders from `workers` loops until `stop()` or `maxOrders`; every request is time-bounded. */
function orderStream(orderUrl: string, workers: number, maxOrders: number) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async () => {
    while (running && outcomes.length < maxOrders) {
      try {
        const answer = await postJson(`${orderUrl}/order`, sampleOrder(), {}, AbortSignal.timeout(15_000));
        outcomes.push({ status: answer.status, orderId: answer.body?.orderId });
      } catch (error) {
        outcomes.push({ status: (error as Error).name === "TimeoutError" ? "timeout" : "network" });
      }
      await sleep(20);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, loop));
  return {
    outcomes,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function expectAllNotified(p: Pipeline, orderIds: readonly string[], timeoutMs: number): Promise<void> {
  const missing = new Set(orderIds);
  await waitFor(`${orderIds.length} notifications`, async () => {
    for (const id of [...missing]) {
      if ((await getJson(`${p.notificationUrl}/notify/${id}`)).status === 200) missing.delete(id);
    }
    return missing.size === 0 ? true : undefined;
  }, timeoutMs, 500).catch(() => {
    throw new Error(`${missing.size} of ${orderIds.length} accepted orders never reached notification`);
  });
}

const accepted = (outcomes: readonly Outcome[]) =>
  outcomes.filter((o) => o.status === 202).map((o) => o.orderId as string);

describe("when the broker restarts while orders flow", () => {
  test("no order answered 202 is lost, and the services come back by themselves", async () => {
    // GIVEN orders flowing
    const p = await freshPipeline();
    const stream = orderStream(p.orderUrl, 4, 600);
    await sleep(1500);

    // WHEN the broker stops and starts again
    await broker.stop();
    await sleep(1000);
    await broker.start();
    await waitFor("every service ready again", async () => (p.allReady() ? true : undefined), 30_000, 100);
    await sleep(1500);
    await stream.stop();

    // THEN
    const statuses = new Set(stream.outcomes.map((o) => o.status));
    expect([...statuses].every((s) => s === 202 || s === 503), `statuses seen: ${[...statuses]}`).toBe(true);
    expect(stream.outcomes.some((o) => o.status === 503)).toBe(true);
    const ids = accepted(stream.outcomes);
    expect(ids.length).toBeGreaterThan(20);
    await expectAllNotified(p, ids, 60_000);
    expect(p.fatal).toEqual([]);
  }, 150_000);
});

describe("when the broker freezes for 20 seconds", () => {
  test("pending orders end with 503, nothing exits, and all are ready within 30 s of its return", async () => {
    // GIVEN
    const p = await freshPipeline();

    // WHEN the broker's process is suspended with orders in flight
    broker.freeze();
    const started = Date.now();
    const during = await Promise.all(
      Array.from({ length: 5 }, () => postJson(`${p.orderUrl}/order`, sampleOrder(), {}, AbortSignal.timeout(25_000))),
    );
    const answeredWithin = Date.now() - started;
    await sleep(Math.max(0, 20_000 - (Date.now() - started)));
    const stillFrozen = await postJson(`${p.orderUrl}/order`, sampleOrder(), {}, AbortSignal.timeout(25_000));
    broker.thaw();
    const thawed = Date.now();
    await waitFor("every service ready again", async () => (p.allReady() ? true : undefined), 30_000, 100);
    const readyAfterMs = Date.now() - thawed;

    // THEN
    expect(during.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    expect(during[0]?.body.error.code).toBe("BROKER_ERR_UNAVAILABLE");
    expect(answeredWithin).toBeLessThan(10_000);
    expect(stillFrozen.status).toBe(503);
    expect(readyAfterMs).toBeLessThan(30_000);
    expect(p.fatal).toEqual([]);

    const after = await postJson(`${p.orderUrl}/order`, sampleOrder());
    expect(after.status).toBe(202);
    await expectAllNotified(p, [after.body.orderId], 10_000);
  }, 120_000);
});

describe("when a connection is force-closed while confirms are pending", () => {
  test("every request ends with 202 or 503, the service reconnects, and every 202 is notified", async () => {
    const p = await freshPipeline();
    const stream = orderStream(p.orderUrl, 8, 400);
    await sleep(500);

    const listed = await waitFor("order-service's connection", async () => {
      const all = await broker.api<{ name: string; vhost: string; client_properties?: { connection_name?: string } }[]>("GET", "/connections");
      const mine = all.filter((c) => c.vhost === vhost && c.client_properties?.connection_name === "order-service");
      return mine.length > 0 ? mine : undefined;
    }, 15_000, 250);
    for (const c of listed) await broker.api("DELETE", `/connections/${encodeURIComponent(c.name)}`);

    await waitFor("order-service ready again", async () => (p.order.host.broker.ready ? true : undefined), 30_000, 50);
    await sleep(1000);
    await stream.stop();

    const statuses = new Set(stream.outcomes.map((o) => o.status));
    expect([...statuses].every((s) => s === 202 || s === 503), `statuses seen: ${[...statuses]}`).toBe(true);
    await expectAllNotified(p, accepted(stream.outcomes), 60_000);
    expect(p.fatal).toEqual([]);
  }, 120_000);
});
