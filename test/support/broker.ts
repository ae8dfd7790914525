/**
 * The real RabbitMQ the integration tests run against: one node per test file, on its own
 * ports and in its own folder, started fresh, so tests may stop and freeze it at will.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { LocalRabbitMq } from "../../scripts/lib/local-rabbitmq.js";

function testBroker(): LocalRabbitMq {
  const port = Number(process.env.TEST_RABBITMQ_PORT ?? 5690);
  return new LocalRabbitMq({
    baseDir: mkdtempSync(join(tmpdir(), "orderlab-test-rabbitmq-")),
    nodeName: `orderlab-test-${randomBytes(3).toString("hex")}@localhost`,
    amqpPort: port,
    managementPort: port + 10000,
    prometheusPort: port + 10020,
    distributionPort: port + 20000,
    fresh: true,
  });
}

/**
 * A test broker for the calling file: started before its first test, stopped (thawed first if a
 * test froze it) after its last, and its folder removed. A file's own afterAll hooks run before
 * this one, so they may still use the broker.
 */
export function useTestBroker(): LocalRabbitMq {
  const broker = testBroker();
  beforeAll(() => broker.start(), 120_000);
  afterAll(async () => {
    await broker.stop();
    rmSync(broker.baseDir, { recursive: true, force: true });
  });
  return broker;
}

/** A vhost name unique to this test, so a test run twice in a row starts clean. */
export function uniqueVhost(label: string): string {
  return `test-${label}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}
