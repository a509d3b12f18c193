/** Vitest global setup: builds the admin dashboard once per run when it is missing or stale. */
import { ensureWeb } from '../scripts/ensure-web.mjs';

/** Runs before any test file. */
export default function setup(): void {
  ensureWeb({ quiet: true });
}
