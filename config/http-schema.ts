/**
 * `http.*`: the API listener (CONTRACT.md §4).
 */
import { z } from 'zod';
import { httpUrlSchema, nonEmptyStringSchema } from './field-formats.js';
import { integer } from './integer.js';

/** The default listener, and the base of `publicUrl` when it is not set. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
export const DEFAULT_HTTP_PORT = 8080;

/**
 * The URL the API is reachable at when `publicUrl` is not set: the listener itself, with a
 * wildcard address replaced by loopback.
 */
export function listenerUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** `http`: where the API listens and how it is reached from outside. */
export const httpSchema = z
  .strictObject({
    /**
     * Address to listen on. `0.0.0.0` / `::` for every interface.
     * @default 127.0.0.1
     */
    host: nonEmptyStringSchema.default(DEFAULT_HTTP_HOST),
    /**
     * Port to listen on; `0` = any free port (tests). Overridden by `VIGIL_HTTP_PORT`.
     * @default 8080
     */
    port: integer(0, 65_535).default(DEFAULT_HTTP_PORT),
    /**
     * Base of the links vigil hands out (acknowledgement links in notices), as seen by their
     * readers: set it when vigil is behind a proxy. Printed without a trailing slash. When not set
     * it follows `host` and `port`, so `VIGIL_HTTP_PORT` alone keeps the links right.
     * @default http://127.0.0.1:8080
     */
    publicUrl: httpUrlSchema.optional(),
    /**
     * Serve `/metrics` without a token (CONTRACT.md §4). Otherwise only admin tokens may read it.
     * @default false
     */
    metricsPublic: z.boolean().default(false),
    /**
     * Per-API-key rate limit, a token bucket kept by each API process: `perSecond` sustained,
     * `burst` at once. Beyond it: 429 with Retry-After. `null` turns it off.
     * @default { perSecond: 20, burst: 100 }
     */
    rateLimit: z
      .strictObject({ perSecond: integer(1, 100_000).default(20), burst: integer(1, 1_000_000).default(100) })
      .nullable()
      .default({ perSecond: 20, burst: 100 }),
  })
  .transform((http) => ({
    host: http.host,
    port: http.port,
    publicUrl: (http.publicUrl ?? listenerUrl(http.host, http.port)).replace(/\/+$/, ''),
    metricsPublic: http.metricsPublic,
    rateLimit: http.rateLimit,
  }));

/** The parsed `http` section. */
export type HttpConfig = z.output<typeof httpSchema>;
