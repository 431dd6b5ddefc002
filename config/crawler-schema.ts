/**
 * `crawler.*`: how vigil fetches reported URLs (CONTRACT.md §3, §7). Durations are output in
 * milliseconds, sizes in bytes.
 */
import { z } from 'zod';
import { duration } from './duration.js';
import {
  cidrSchema,
  dnsServerSchema,
  httpUrlSchema,
  identifierSchema,
  nonEmptyStringSchema,
  regexSourceSchema,
  uniqueIds,
  EVEN_WITH_OTHER_PROBLEMS,
} from './field-formats.js';
import { integer } from './integer.js';
import { size } from './size.js';

/** A network vantage point: an HTTP proxy that checks are also made through. */
export const vantageSchema = z.strictObject({
  /** Unique id, named in check results and `Fetcher` calls. */
  id: identifierSchema,
  /** `http://host:port` or `https://host:port`; credentials in the URL are masked when printed. */
  proxy: httpUrlSchema,
});

/** Hard limits of one fetch. */
export const crawlerTimeoutsSchema = z
  .strictObject({
    /**
     * TCP and TLS connection set-up, per address tried.
     * @default 10s
     */
    connect: duration({ min: 1 }).prefault('10s'),
    /**
     * The whole check of one URL: every redirect hop and the body, or the browser load.
     * @default 30s
     */
    total: duration({ min: 1 }).prefault('30s'),
  })
  .superRefine((t, ctx) => {
    if (t.connect > t.total) {
      ctx.addIssue({ code: 'custom', path: ['connect'], input: t.connect, message: 'must not be longer than crawler.timeouts.total' });
    }
  });

/** Chromium through playwright-core (CONTRACT.md §1). */
export const browserSchema = z.strictObject({
  /**
   * `auto`: use Chromium when one is found, else run HTTP-only and say so at start and on
   * `/readyz`; `true`: a browser is required; `false`: never start one.
   * @default auto
   */
  enabled: z.union([z.literal('auto'), z.boolean()], { error: 'expected auto, true or false' }).default('auto'),
  /**
   * Chromium executable. `null`: `CHROMIUM_PATH` (read by `runtimeEnv` in client-settings.ts),
   * else `/usr/bin/chromium`. A path given that names no file stops start-up (unless
   * `enabled: false`), like any file the configuration refers to.
   * @default null
   */
  executablePath: nonEmptyStringSchema.nullable().default(null),
  /**
   * Browser pages (tabs) open at once, across all checks.
   * @default 4
   */
  pages: integer(1, 256).default(4),
});

/** `crawler`: fetching reported URLs. */
export const crawlerSchema = z.strictObject({
  /**
   * Resolvers to ask, as `ip` or `ip:port` (`[ipv6]:port`); empty = the system's resolvers.
   * @default []
   */
  dnsServers: z.array(dnsServerSchema).prefault([]),
  /**
   * CIDRs exempted from the non-public-address guard. For tests on loopback only: anything listed
   * here can be reached by submitted URLs and their redirects.
   * @default []
   */
  allowNetworks: z.array(cidrSchema).prefault([]),
  /**
   * `User-Agent` of HTTP checks.
   * @default "Mozilla/5.0 (compatible; vigil)"
   */
  userAgent: nonEmptyStringSchema.default('Mozilla/5.0 (compatible; vigil)'),
  /** @default { connect: 10s, total: 30s } */
  timeouts: crawlerTimeoutsSchema.prefault({}),
  /**
   * Cap on decoded body bytes read per response; beyond it the read stops.
   * @default 10MB
   */
  maxBodyBytes: size({ min: 1 }).prefault('10MB'),
  /**
   * Redirect hops followed per check; each hop is re-checked by the network guard.
   * @default 10
   */
  maxRedirects: integer(0, 100).default(10),
  /**
   * Checks in flight at once, per worker process; at most 256 (one process's event loop — run
   * more worker processes for more).
   * @default 256
   */
  concurrency: integer(1, 256).default(256),
  /**
   * Checks in flight at once against one host, per worker process.
   * @default 4
   */
  perHostConcurrency: integer(1, 10_000).default(4),
  /**
   * `metadata`: never read the body of an image or video; `hash`: stream media bodies through
   * hash functions in memory and keep only the digests (CONTRACT.md §7).
   * @default metadata
   */
  mediaPolicy: z.enum(['metadata', 'hash']).default('metadata'),
  /**
   * Extra regular expressions that mark a 2xx page as "content removed", matched
   * case-insensitively on top of the built-in list (core/takedown-patterns.ts).
   * @default []
   */
  takedownPatterns: z.array(regexSourceSchema).prefault([]),
  /** @default { enabled: auto, executablePath: null, pages: 4 } */
  browser: browserSchema.prefault({}),
  /**
   * Proxies that checks are also made through, `[{ id, proxy }]` with unique ids; none = direct.
   * @default []
   */
  vantages: z.array(vantageSchema).superRefine(uniqueIds, EVEN_WITH_OTHER_PROBLEMS).prefault([]),
});

/** The parsed `crawler` section. */
export type CrawlerConfig = z.output<typeof crawlerSchema>;
