import { runUntilSignalled } from "../lib/service.js";
import { createNotificationService, notificationSettingsFrom } from "./service.js";

const service = createNotificationService(notificationSettingsFrom(process.env));
runUntilSignalled(service.host);
await service.start();
