/**
 * Registers CDKTF's matchers (toHaveResourceWithProperties, ...) with vitest. cdktf 0.21 ships
 * only the jest adapter, which extends the global `expect`; vitest's `expect` implements the
 * same `extend` and asymmetric matchers, so it is exposed globally for the adapter.
 */
import { Testing } from "cdktf";
import { expect } from "vitest";

(globalThis as { expect?: unknown }).expect = expect;
Testing.setupJest();

interface CdktfMatchers<R = unknown> {
  toHaveResource(resourceConstructor: unknown): R;
  toHaveResourceWithProperties(resourceConstructor: unknown, properties: Record<string, unknown>): R;
  toHaveProvider(providerConstructor: unknown): R;
  toHaveProviderWithProperties(providerConstructor: unknown, properties: Record<string, unknown>): R;
}

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Assertion<T = any> extends CdktfMatchers<T> {}
}
