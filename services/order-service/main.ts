import { runUntilSignalled } from "../lib/service.js";
import { createOrderService, orderSettingsFrom } from "./service.js";

const service = createOrderService(orderSettingsFrom(process.env));
runUntilSignalled(service.host);
await service.start();
