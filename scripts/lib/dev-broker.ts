import { join } from "node:path";
import { LocalRabbitMq } from "./local-rabbitmq.js";
import { STATE_DIR } from "./paths.js";

/** The development broker: RabbitMQ's default ports on 127.0.0.1, data under STATE_DIR. */
export const devBroker = () =>
  new LocalRabbitMq({
    baseDir: join(STATE_DIR, "rabbitmq"),
    nodeName: "orderlab@localhost",
    amqpPort: 5672,
    managementPort: 15672,
    prometheusPort: 15692,
    distributionPort: 25672,
  });
