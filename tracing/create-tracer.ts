/**
 * Builds the tracer from `tracing.*` configuration (CONTRACT.md §3), for the composition root:
 * opens the country/ASN databases (watched for changes), loads the RDAP bootstrap data and
 * makes the RDAP client. The resolver and the guarded dispatcher are handed in, so the tracer
 * sees the same DNS as the crawler and RDAP referrals go through the same network guard.
 */
import type { Dispatcher } from 'undici';
import type { VigilConfig } from '../config/config-schema.js';
import type { Clock } from '../core/clock.js';
import type { DnsResolver } from './dns-resolver.js';
import { GeoDatabases, type MmdbEvent } from './geo-databases.js';
import { RdapBootstrap } from './rdap-bootstrap.js';
import { RdapClient } from './rdap-client.js';
import { Tracer } from './tracer.js';

export interface OpenTracerOptions {
  tracing: VigilConfig['tracing'];
  resolver: DnsResolver;
  /** the crawler's guarded agent: RDAP redirects and referrals go through it */
  guardedDispatcher: Dispatcher;
  /** for the bootstrap servers themselves. @default an Agent the RDAP client owns */
  trustedDispatcher?: Dispatcher;
  clock: Clock;
  /** deadline of one RDAP lookup, ms. @default 10000 */
  rdapDeadlineMs?: number;
  /** reload database files when they change. @default true */
  watch?: boolean;
  /** told when a database file is reloaded, or fails to reload (the old one stays in use) */
  onDatabaseEvent?: (event: MmdbEvent) => void;
}

export interface OpenedTracer {
  tracer: Tracer;
  geo: GeoDatabases;
  rdap: RdapClient;
  bootstrap: RdapBootstrap;
  /** stop watching files and close what the tracer opened (not the dispatchers passed in) */
  close(): Promise<void>;
}

/**
 * @throws TracingError VIGIL_GEO_DB_UNREADABLE, VIGIL_RDAP_BOOTSTRAP_INVALID
 */
export async function openTracer(options: OpenTracerOptions): Promise<OpenedTracer> {
  const bootstrap = await RdapBootstrap.load(options.tracing.rdapBootstrap);
  const geo = await GeoDatabases.open({
    countryDb: options.tracing.countryDb,
    asnDb: options.tracing.asnDb,
    watch: options.watch ?? true,
  });
  const unsubscribe = options.onDatabaseEvent ? geo.onEvent(options.onDatabaseEvent) : () => undefined;
  const rdap = new RdapClient({
    bootstrap,
    guardedDispatcher: options.guardedDispatcher,
    trustedDispatcher: options.trustedDispatcher,
    deadlineMs: options.rdapDeadlineMs,
  });
  const tracer = new Tracer({
    resolver: options.resolver,
    geo,
    rdap,
    rdapBootstrap: bootstrap.info,
    cdnAsns: options.tracing.cdnAsns,
    clock: options.clock,
  });
  return {
    tracer, geo, rdap, bootstrap,
    async close() {
      unsubscribe();
      geo.close();
      await rdap.close();
    },
  };
}
