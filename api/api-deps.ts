/** What the API needs from the rest of vigil, handed in by the composition root (daemon/). */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Store } from '../core/store.js';
import type { Authenticator } from './auth.js';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string; [extra: string]: unknown }>;
}

export interface ApiDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  auth: Authenticator;
  /** new ids for submissions, keys, … (randomness stays at the edges) */
  newId: () => string;
  readiness: () => Promise<ReadinessReport>;
  /** ask for an immediate check of a report (analyst recheck); optional until the lifecycle lands */
  requestCheck?: (reportId: string) => Promise<void>;
  limits: { maxItems: number; maxBodyBytes: number };
  /** false while shutting down: intake is refused with 503 */
  accepting: () => boolean;
}
