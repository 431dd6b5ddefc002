/**
 * The tracer's concrete parts, built for start-daemon.ts (the composition root): the tracer over
 * the crawler's resolver (both see the same DNS answers), with RDAP redirects and referrals
 * dialled through a network-guarded agent like every other outbound connection (DESIGN.md).
 */
import type { Logger } from 'pino';
import type { VigilConfig } from '../config/config-schema.js';
import type { Clock } from '../core/clock.js';
import type { Tracer } from '../core/tracer.js';
import { parseCidrList } from '../crawler/address-policy.js';
import { createGuardedAgent } from '../crawler/guarded-agent.js';
import { openTracer } from '../tracing/create-tracer.js';
import type { DnsResolver } from '../tracing/dns-resolver.js';

/** Deadline of one RDAP request (connect, headers, body silence). */
const RDAP_TIMEOUT_MS = 10_000;

export interface TraceParts {
  tracer: Tracer;
  /** stop watching the databases, close the RDAP client and the guarded agent */
  close(): Promise<void>;
}

/** @throws TracingError VIGIL_GEO_DB_UNREADABLE, VIGIL_RDAP_BOOTSTRAP_INVALID */
export async function createTraceParts(options: { config: Readonly<VigilConfig>; resolver: DnsResolver; clock: Clock; log: Logger }): Promise<TraceParts> {
  const { config } = options;
  const log = options.log.child({ component: 'tracer' });
  const guarded = createGuardedAgent({
    resolver: options.resolver,
    allow: parseCidrList(config.crawler.allowNetworks),
    connectTimeoutMs: RDAP_TIMEOUT_MS,
    headersTimeoutMs: RDAP_TIMEOUT_MS,
    bodyTimeoutMs: RDAP_TIMEOUT_MS,
    perHostConcurrency: 4,
  });
  try {
    const opened = await openTracer({
      tracing: config.tracing,
      resolver: options.resolver,
      guardedDispatcher: guarded.agent,
      clock: options.clock,
      rdapDeadlineMs: RDAP_TIMEOUT_MS,
      onDatabaseEvent: (event) => {
        if (event.type === 'reloaded') log.info({ path: event.path, build: event.version.buildEpoch }, 'tracing database reloaded');
        else log.warn({ path: event.path, err: event.error }, 'tracing database reload failed; the previous one stays in use');
      },
    });
    return {
      tracer: opened.tracer,
      async close() {
        await opened.close();
        await guarded.close();
      },
    };
  } catch (err) {
    await guarded.close();
    throw err;
  }
}
