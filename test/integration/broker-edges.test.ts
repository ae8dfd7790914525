/**
 * The broker refusing work without dropping the connection. A resource alarm (memory high
 * watermark): RabbitMQ blocks publishing connections and stops reading from them; a POST must
 * still end in bounded time, and a 503 must not be an order the broker takes anyway once the
 * alarm clears.
 */
import { afterAll, expect, test } from "vitest";
import { QUEUES } from "../../contract/index.js";
import { useTestBroker, uniqueVhost } from "../support/broker.js";
import { postJson, sampleOrder, sleep, waitFor } from "../support/http.js";
import { startPipeline, type Pipeline } from "../support/pipeline.js";

const broker = useTestBroker();
let pipeline: Pipeline | undefined;

afterAll(async () => {
  await broker.ctl(["set_vm_memory_high_watermark", "0.4"]).catch(() => undefined);
  await pipeline?.stop();
});

test("while the broker blocks publishers, POSTs answer 503 in bounded time and those orders are not taken later", async () => {
  // GIVEN order-service alone (nothing consumes its queue, so the queue counts what was published)
  const vhost = uniqueVhost("alarm");
  pipeline = await startPipeline(await broker.createVhost(vhost), { only: ["order"], env: { PUBLISH_TIMEOUT_MS: "2000" } });
  const p = pipeline;

  // WHEN a memory alarm blocks publishing and orders keep coming
  await broker.ctl(["set_vm_memory_high_watermark", "0.0001"]);
  const answers: { status: number; ms: number }[] = [];
  for (let i = 0; i < 6; i += 1) {
    const started = Date.now();
    const answer = await postJson(`${p.orderUrl}/order`, sampleOrder(), {}, AbortSignal.timeout(15_000));
    answers.push({ status: answer.status, ms: Date.now() - started });
  }
  await broker.ctl(["set_vm_memory_high_watermark", "0.4"]);
  await waitFor("the alarm to clear", async () => (p.logs.some((l) => l.msg === "broker unblocked publishing") ? true : undefined), 20_000);
  await sleep(1500);

  // THEN every answer was a 503 within the publish timeout (plus slack) ...
  expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503, 503, 503]);
  for (const a of answers) expect(a.ms).toBeLessThan(4000);
  // ... and at most the one publish written before the broker said it blocks us reached the queue
  // (RabbitMQ sends connection.blocked only once a connection publishes during the alarm).
  const listing = await broker.ctl(["list_queues", "-p", vhost, "name", "messages", "--no-table-headers", "--quiet"]);
  const line = listing.split("\n").find((l) => l.trim().split(/\s+/)[0] === QUEUES.paymentOrders);
  expect(line, listing).toBeDefined();
  expect(Number(line!.trim().split(/\s+/)[1])).toBeLessThanOrEqual(1);

  // and once the alarm is gone orders are accepted again
  expect((await postJson(`${p.orderUrl}/order`, sampleOrder())).status).toBe(202);
  expect(p.fatal).toEqual([]);
  await pipeline.stop();
  pipeline = undefined;
  await broker.deleteVhost(vhost);
}, 90_000);

test("an order the broker cannot route to any queue is refused with 503, not accepted and dropped", async () => {
  // GIVEN order-service, and payment-service's queue deleted under it (an operator, a policy)
  const vhost = uniqueVhost("unroutable");
  pipeline = await startPipeline(await broker.createVhost(vhost), { only: ["order"] });
  const p = pipeline;
  await broker.api("DELETE", `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(QUEUES.paymentOrders)}`);

  // WHEN
  const answer = await postJson(`${p.orderUrl}/order`, sampleOrder(), {}, AbortSignal.timeout(15_000));

  // THEN the client is not told 202 for an order that went nowhere
  expect(answer.status).toBe(503);
  expect(answer.body.error.code).toBe("BROKER_ERR_UNAVAILABLE");
  expect(p.order.host.broker.ready).toBe(true);
  expect(p.fatal).toEqual([]);
  await pipeline.stop();
  pipeline = undefined;
  await broker.deleteVhost(vhost);
}, 60_000);
