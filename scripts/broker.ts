/**
 * A local RabbitMQ from Debian's package, for development, the demo and CI.
 *
 *   tsx scripts/broker.ts start   starts it on 127.0.0.1:5672 (management on :15672)
 *   tsx scripts/broker.ts stop
 *   tsx scripts/broker.ts status
 *
 * Data lives under $ORDERLAB_STATE/rabbitmq (default ~/.cache/orderlab/rabbitmq).
 */
import { Command } from "commander";
import { join } from "node:path";
import { devBroker } from "./lib/dev-broker.js";
import { isListening } from "./lib/local-rabbitmq.js";

const program = new Command("broker").description("run a local RabbitMQ on loopback");
program.command("start").action(async () => {
  const broker = devBroker();
  if (await isListening(broker.amqpPort)) {
    console.log(`something already answers on 127.0.0.1:${broker.amqpPort}; leaving it as it is`);
    return;
  }
  console.log(`starting RabbitMQ (Debian package) in ${broker.baseDir} ...`);
  await broker.start();
  console.log(`RabbitMQ ready: ${broker.url()}  management: ${broker.managementUrl} (guest/guest, loopback only)`);
});
program.command("stop").action(async () => {
  await devBroker().stop();
  console.log("RabbitMQ stopped");
});
program.command("status").action(async () => {
  const broker = devBroker();
  const up = await isListening(broker.amqpPort);
  console.log(up ? `RabbitMQ answers on 127.0.0.1:${broker.amqpPort} (pid ${broker.pid() ?? "not ours"})` : "RabbitMQ is not running");
  process.exitCode = up ? 0 : 1;
});
await program.parseAsync();
