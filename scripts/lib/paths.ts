import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root folder, wherever the command was started from. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The tsx launcher installed by `npm ci`. */
export const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** Per-user state outside the checkout (broker data, tool builds). */
export const STATE_DIR = process.env.ORDERLAB_STATE ?? join(process.env.HOME ?? "/tmp", ".cache", "orderlab");
