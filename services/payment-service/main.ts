import { runUntilSignalled } from "../lib/service.js";
import { createPaymentService, paymentSettingsFrom } from "./service.js";

const service = createPaymentService(paymentSettingsFrom(process.env));
runUntilSignalled(service.host);
await service.start();
