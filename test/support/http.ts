/** Small HTTP and timing helpers for tests. */

export const sampleOrder = (overrides: Record<string, unknown> = {}) => ({
  customerId: "customer-1",
  items: [
    { sku: "SKU-001", quantity: 2, unitPrice: 12.5 },
    { sku: "SKU-002", quantity: 1, unitPrice: 3.99 },
  ],
  currency: "EUR",
  ...overrides,
});

export interface JsonResponse {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

export async function getJson(url: string): Promise<JsonResponse> {
  const response = await fetch(url);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text (metrics, or a failure worth seeing in the assertion)
  }
  return { status: response.status, body, headers: response.headers };
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads one sample's value from a Prometheus text exposition. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (!matches) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
    found = true;
  }
  return found ? total : 0;
}
