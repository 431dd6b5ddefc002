/** What the API needs from the rest of vigil, handed in by the composition root (daemon/). */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { HashLookup } from '../core/content-digests.js';
import type { Store } from '../core/store.js';
import type { Authenticator } from './auth.js';
import type { MetricsRouteOptions } from './metrics/metrics-route.js';
import type { RateLimit } from './rate-limit.js';

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
  /** the ids of `directory.recipients`: a recipient key must name one; absent: not checked */
  recipientIds?: readonly string[];
  /** the hash list (`hashList.files`): a new URL submitted with a digest in it is `illegal` at once; absent: none */
  hashList?: HashLookup | null;
  /** `schedule.expireAfter` (ms): the new monitoring period of an expired URL submitted again */
  expireAfterMs?: number;
  /** per-key token bucket (`http.rateLimit`); null = no limit */
  rateLimit?: RateLimit | null;
  /** how long an `Idempotency-Key` names its submission @default 24 h */
  idempotencyTtlMs?: number;
  /** shown in the OpenAPI document */
  version?: string;
  /** false while shutting down: intake is refused with 503 */
  accepting: () => boolean;
  /** `GET /metrics` (CONTRACT.md §8) and whether it needs an admin token; absent: no such route */
  metrics?: MetricsRouteOptions;
  /** the BullMQ queues, for the dashboard at `/admin/queues`; absent: no dashboard */
  queues?: readonly Queue[];
  /** `/admin` sign-in: session lifetime (@default 8 h) and the cookies' Secure flag (https) */
  admin?: { sessionTtlMs?: number; secureCookies?: boolean };
}
