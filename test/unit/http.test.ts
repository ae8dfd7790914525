/**
 * The HTTP surface of order-service without a broker: what is refused before anything is
 * published. (Accepted orders need a broker; the integration suite covers them.)
 */
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import request from "supertest";
import { describe, expect, test } from "vitest";
import { pino } from "pino";
import { answerClientErrorsWithJson } from "../../services/lib/http/app.js";
import { createOrderService, orderSettingsFrom } from "../../services/order-service/service.js";
import { createPaymentService, paymentSettingsFrom } from "../../services/payment-service/service.js";

const silent = pino({ level: "silent" });
const orderApp = () => createOrderService(orderSettingsFrom({ RABBITMQ_URL: "amqp://127.0.0.1:1" }), { logger: silent }).app;

describe("POST /order refuses bad input with a JSON reason", () => {
  test("malformed JSON gets 400, not an HTML stack trace", async () => {
    const res = await request(orderApp()).post("/order").set("content-type", "application/json").send("{bad");
    expect(res.status).toBe(400);
    expect(res.type).toBe("application/json");
    expect(res.body.error.code).toBe("REQ_ERR_MALFORMED_JSON");
    expect(res.text).not.toMatch(/<html|at .*\.js/i);
  });

  test.each([
    ['"x"', "body"],
    ["null", "body"],
    ['{"items": "x"}', "items"],
    ["[]", "body"],
  ])("body %s gets 400 naming %s", async (body, field) => {
    const res = await request(orderApp()).post("/order").set("content-type", "application/json").send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("REQ_ERR_VALIDATION");
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  test("a body over the limit gets 413", async () => {
    const items = Array.from({ length: 2000 }, (_, i) => ({ sku: `SKU-${i}-${"x".repeat(20)}`, quantity: 1, unitPrice: 1 }));
    const res = await request(orderApp()).post("/order").set("content-type", "application/json").send(JSON.stringify({ items }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("REQ_ERR_BODY_TOO_LARGE");
  });

  test("a wrong content type gets 415", async () => {
    const res = await request(orderApp()).post("/order").set("content-type", "text/plain").send("hello");
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("REQ_ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  test("a valid order while the broker is unreachable gets 503: the client knows it was not accepted", async () => {
    const res = await request(orderApp())
      .post("/order")
      .set("content-type", "application/json")
      .send({ customerId: "c", items: [{ sku: "A", quantity: 1, unitPrice: 1 }], currency: "EUR" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("BROKER_ERR_UNAVAILABLE");
  });

  test("an unknown route gets a JSON 404", async () => {
    const res = await request(orderApp()).get("/nowhere");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("REQ_ERR_NOT_FOUND");
  });
});

describe("operational endpoints", () => {
  test("/health is up while /ready says the broker is not connected", async () => {
    const app = orderApp();
    expect((await request(app).get("/health")).status).toBe(200);
    const ready = await request(app).get("/ready");
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: "not_ready" });
  });

  test("creating the apps twice in one process does not collide on metric registration", async () => {
    const settings = paymentSettingsFrom({});
    const first = createPaymentService(settings, { logger: silent });
    const second = createPaymentService(settings, { logger: silent });
    const metrics = await request(second.app).get("/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('payments_processed_total');
    expect(first.host.metrics.registry).not.toBe(second.host.metrics.registry);
  });

  test("request durations are labelled with the route template, not the raw URL", async () => {
    const service = createPaymentService(paymentSettingsFrom({}), { logger: silent });
    await request(service.app).get("/payment/some-order-id");
    const metrics = await request(service.app).get("/metrics");
    expect(metrics.text).toContain('route="/payment/:orderId",status_code="404"');
    expect(metrics.text).not.toContain("some-order-id");
  });
});

describe("requests malformed below the route get a 4xx JSON reason, never a 500", () => {
  test.each(["/order/%E0%A4%A", "/order/%"])("a path %s that is not valid percent-encoding gets 400", async (path) => {
    const res = await request(orderApp()).get(path);
    expect(res.status).toBe(400);
    expect(res.type).toBe("application/json");
    expect(res.body.error.code).toBe("REQ_ERR_VALIDATION");
  });

  test("a body that does not decode with its Content-Encoding gets 400", async () => {
    const res = await request(orderApp())
      .post("/order")
      .set("content-type", "application/json")
      .set("content-encoding", "gzip")
      .send('{"not":"gzip"}');
    expect(res.status).toBe(400);
    expect(res.type).toBe("application/json");
    expect(res.body.error.code).toBe("REQ_ERR_MALFORMED_JSON");
  });
});

describe("requests Node's HTTP parser refuses still get a JSON reason", () => {
  async function raw(data: string): Promise<string> {
    const server = createServer(orderApp());
    answerClientErrorsWithJson(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        let answer = "";
        socket.setTimeout(5000, () => socket.destroy(new Error("no answer within 5 s")));
        socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
        socket.on("close", () => resolve(answer));
        socket.on("error", reject);
        socket.write(data);
      });
    } finally {
      server.close();
    }
  }

  test.each([
    ["an Idempotency-Key of 20 KB", `POST /order HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ${"k".repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`, 431, "REQ_ERR_HEADERS_TOO_LARGE"],
    ["a method Node does not know", "FROB /order HTTP/1.1\r\nHost: x\r\n\r\n", 400, "REQ_ERR_BAD_HTTP"],
    ["a Content-Length that is not a number", "POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "REQ_ERR_BAD_HTTP"],
    ["a request line that is not HTTP", "garbage\r\n\r\n", 400, "REQ_ERR_BAD_HTTP"],
  ])("%s", async (_what, data, status, code) => {
    const answer = await raw(data);
    const [head, body] = answer.split("\r\n\r\n", 2) as [string, string];
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(head.toLowerCase()).toContain("content-type: application/json");
    expect(JSON.parse(body).error.code).toBe(code);
  });
});
