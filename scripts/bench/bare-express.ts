/**
 * The benchmark's reference server: the same Express and JSON body parser as the services,
 * answering POST /order with 202 and an id, and nothing else (no validation, metrics or broker).
 * Prints `{"port":N}` once listening on 127.0.0.1; SIGTERM closes it.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import express from "express";

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.post("/order", express.json({ limit: "32kb", type: "application/json" }), (_req, res) => {
  res.status(202).json({ orderId: randomUUID(), status: "pending" });
});
const server = app.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
