/** Reading the CSV files Locust writes with `--csv <prefix> --csv-full-history`. */

/** Parses RFC 4180 CSV (quoted fields, doubled quotes) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += c;
    }
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

/** CSV rows as objects keyed by the header row. */
export function csvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ""])));
}

/** One line of `<prefix>_stats.csv`: a request name's totals over the whole run. */
export interface StatsRow {
  readonly type: string;
  readonly name: string;
  readonly requests: number;
  readonly failures: number;
  readonly averageMs: number;
  readonly maxMs: number;
  readonly requestsPerSecond: number;
  /** Percentiles in milliseconds, keyed "50%", "95%", "99%", ... */
  readonly percentiles: Readonly<Record<string, number>>;
}

/** One line of `<prefix>_stats_history.csv`: a request name's state at one second. */
export interface HistoryRow {
  /** Unix seconds. */
  readonly timestamp: number;
  readonly users: number;
  readonly type: string;
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly failuresPerSecond: number;
  /** Percentiles over Locust's recent window (10 s), in milliseconds; absent before any request. */
  readonly percentiles: Readonly<Record<string, number>>;
  readonly totalRequests: number;
  readonly totalFailures: number;
}

const PERCENTILE_COLUMN = /^\d+(\.\d+)?%$/;

function percentilesOf(record: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (PERCENTILE_COLUMN.test(key) && value !== "N/A" && value !== "") out[key] = Number(value);
  }
  return out;
}

export function parseStatsCsv(text: string): StatsRow[] {
  return csvRecords(text).map((r) => ({
    type: r["Type"] ?? "",
    name: r["Name"] ?? "",
    requests: Number(r["Request Count"]),
    failures: Number(r["Failure Count"]),
    averageMs: Number(r["Average Response Time"]),
    maxMs: Number(r["Max Response Time"]),
    requestsPerSecond: Number(r["Requests/s"]),
    percentiles: percentilesOf(r),
  }));
}

export function parseHistoryCsv(text: string): HistoryRow[] {
  return csvRecords(text).map((r) => ({
    timestamp: Number(r["Timestamp"]),
    users: Number(r["User Count"]),
    type: r["Type"] ?? "",
    name: r["Name"] ?? "",
    requestsPerSecond: Number(r["Requests/s"]),
    failuresPerSecond: Number(r["Failures/s"]),
    percentiles: percentilesOf(r),
    totalRequests: Number(r["Total Request Count"]),
    totalFailures: Number(r["Total Failure Count"]),
  }));
}
