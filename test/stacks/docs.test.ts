import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { labSettings } from "../../stacks/config.js";
import { documentedTable, settingsTable } from "../../stacks/settings-table.js";

test("the settings table in docs/stacks.md matches config.ts", () => {
  // regenerate with `npm run docs:settings`
  expect(documentedTable()).toBe(settingsTable());
});

test("fails if a setting is missing from the documented table", () => {
  const doc = readFileSync(new URL("../../docs/stacks.md", import.meta.url), "utf8");
  const withoutRow = doc.replace(/^\| `grafana\.deploy` .*\n/m, "");
  expect(documentedTable(withoutRow)).not.toBe(settingsTable());
});

test("every leaf setting has a row", () => {
  const table = settingsTable();
  for (const key of ["traefik.entrypointPort", "vault.mode", "grafana.deploy", "services.order.count"]) {
    expect(table).toContain(`| \`${key}\` |`);
  }
  expect(labSettings().traefik.entrypointPort).toBe(18080);
});
