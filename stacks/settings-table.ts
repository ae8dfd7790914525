/**
 * The settings table of docs/stacks.md, generated from config.ts so the two cannot drift.
 *
 *   npm run docs:settings     rewrites the table between the markers in docs/stacks.md
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { labSettings, clusterSettings, type SettingsEnvironment } from "./config.js";

export const TABLE_START = "<!-- settings-table:start -->";
export const TABLE_END = "<!-- settings-table:end -->";

/** Placeholder for the checkout path, which differs per machine. */
const DOC_ENV: SettingsEnvironment = { ORDERLAB_REPO_DIR: "<repo>" };

function flatten(value: unknown, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    const isArtifact = "kind" in (value as object);
    if (isArtifact) {
      const a = value as { kind: string; path?: string; image?: string };
      out.set(prefix, `${a.kind}: ${a.path ?? a.image}`);
      return out;
    }
    for (const [key, inner] of entries) {
      for (const [k, v] of flatten(inner, prefix ? `${prefix}.${key}` : key)) out.set(k, v);
    }
    return out;
  }
  out.set(prefix, Array.isArray(value) ? value.join(", ") : String(value));
  return out;
}

export function settingsTable(): string {
  const lab = flatten(labSettings(DOC_ENV));
  const cluster = flatten(clusterSettings(DOC_ENV));
  const keys = [...new Set([...lab.keys(), ...cluster.keys()])];
  const cell = (v: string | undefined) => (v === undefined || v === "" ? "—" : `\`${v}\``);
  return [
    "| Setting | lab | cluster |",
    "| --- | --- | --- |",
    ...keys.map((k) => `| \`${k}\` | ${cell(lab.get(k))} | ${cell(cluster.get(k))} |`),
  ].join("\n");
}

const DOC = fileURLToPath(new URL("../docs/stacks.md", import.meta.url));

/** The table currently in docs/stacks.md. */
export function documentedTable(doc = readFileSync(DOC, "utf8")): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/stacks.md lacks the ${TABLE_START} ... ${TABLE_END} markers`);
  return doc.slice(start + TABLE_START.length, end).trim();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes("--write")) {
  const doc = readFileSync(DOC, "utf8");
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  writeFileSync(DOC, `${doc.slice(0, start + TABLE_START.length)}\n${settingsTable()}\n${doc.slice(end)}`);
}
