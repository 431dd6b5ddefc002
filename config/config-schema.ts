/**
 * The whole configuration of vigil (CONTRACT.md §3) as one zod schema. Every key has a default,
 * every object is strict (an unknown key is an error), durations come out in milliseconds and
 * sizes in bytes. Environment overrides are named beside their fields and applied by
 * `parse-config.ts` (see `env-overrides.ts`); paths are made absolute by `load-config.ts`.
 */
import { z } from 'zod';
import { crawlerSchema } from './crawler-schema.js';
import { directorySchema } from './directory-schema.js';
import { duration, formatDuration } from './duration.js';
import { mailboxSchema, nonEmptyStringSchema, urlWithScheme } from './field-formats.js';
import { httpSchema } from './http-schema.js';
import { integer } from './integer.js';
import { queueSchema } from './queue-schema.js';
import { scheduleSchema } from './schedule-schema.js';

/** `auth`: how the first admin gets in. */
export const authSchema = z.strictObject({
  /**
   * Bootstrap admin bearer token, accepted beside the hashed keys in the database; at least 16
   * characters. Overridden by `VIGIL_ADMIN_TOKEN`. Masked when printed.
   * @default null
   */
  adminToken: z
    .string()
    .min(16, { error: 'must be at least 16 characters (generate one with: openssl rand -hex 32)' })
    .nullable()
    .default(null),
});

/** `storage`: the store of record. */
export const storageSchema = z.strictObject({
  /**
   * PostgreSQL server, `postgres://user:password@host:5432/db`. Overridden by `DATABASE_URL`.
   * `null` = an embedded PostgreSQL in `<dataDir>/db`.
   * @default null
   */
  databaseUrl: urlWithScheme(['postgres', 'postgresql']).nullable().default(null),
});

/** `tracing`: where content is hosted (GeoIP, ASN, RDAP, CDNs) — not telemetry. */
export const tracingSchema = z.strictObject({
  /**
   * Country databases (mmdb: GeoIP2/GeoLite2-Country, or the `{country_code}` schema), tried in
   * order; relative paths are resolved against the config file's directory. Empty = bundled.
   * @default []
   */
  countryDb: z.array(nonEmptyStringSchema).prefault([]),
  /**
   * ASN databases (mmdb, GeoLite2-ASN schema), tried in order; optional.
   * @default []
   */
  asnDb: z.array(nonEmptyStringSchema).prefault([]),
  /**
   * Directory or file in the IANA RDAP bootstrap format; `null` = the bundled snapshot.
   * @default null
   */
  rdapBootstrap: nonEmptyStringSchema.nullable().default(null),
  /**
   * Autonomous systems of CDNs and reverse proxies: hosting behind them is reported `viaCdn`.
   * @default [13335, 20940, 54113, 16625, 16509]
   */
  cdnAsns: z.array(integer(1, 4_294_967_295)).prefault([13335, 20940, 54113, 16625, 16509]),
});

/** `hashList`: digests of known illegal content. */
export const hashListSchema = z.strictObject({
  /**
   * Files of one hex digest (md5, sha1 or sha256) a line; a match is an `illegal` verdict.
   * Relative paths are resolved against the config file's directory.
   * @default []
   */
  files: z.array(nonEmptyStringSchema).prefault([]),
});

/** `notices`: delivery of notices. */
export const noticesSchema = z.strictObject({
  /**
   * Notices to one recipient created within this window are sent together; `0s` = at once.
   * @default 0s
   */
  batchWindow: duration().prefault('0s'),
  smtp: z
    .strictObject({
      /**
       * Mail relay, `smtp://user:password@host:587` or `smtps://…:465`; `null` = e-mail channels
       * cannot deliver. Masked when printed.
       * @default null
       */
      url: urlWithScheme(['smtp', 'smtps']).nullable().default(null),
      /**
       * Sender, `address` or `Name <address>`.
       * @default vigil@localhost
       */
      from: mailboxSchema.default('vigil@localhost'),
    })
    .prefault({}),
});

/** `shutdown`: graceful stop (DESIGN.md house style 9). */
export const shutdownSchema = z.strictObject({
  /**
   * After SIGTERM/SIGINT: how long to stop intake and let jobs in flight finish before they are
   * released back to the queue and the process exits anyway.
   * @default 30s
   */
  deadline: duration({ min: 1 }).prefault('30s'),
});

/** The whole configuration file. */
export const configSchema = z
  .strictObject({
    /**
     * Where vigil keeps its own files (embedded PostgreSQL in `db/`, private Redis in `redis/`);
     * made absolute against the working directory. Overridden by `VIGIL_DATA_DIR`.
     * @default ./data
     */
    dataDir: nonEmptyStringSchema.default('./data'),
    /** @default { host: 127.0.0.1, port: 8080, publicUrl: http://127.0.0.1:8080, metricsPublic: false, rateLimit: { perSecond: 20, burst: 100 } } */
    http: httpSchema.prefault({}),
    /** @default { adminToken: null } */
    auth: authSchema.prefault({}),
    /** @default { databaseUrl: null } */
    storage: storageSchema.prefault({}),
    /** @default { redisUrl: redis://127.0.0.1:6379, prefix: vigil, ... } */
    queue: queueSchema.prefault({}),
    /** @default see crawler-schema.ts */
    crawler: crawlerSchema.prefault({}),
    /** @default { countryDb: [], asnDb: [], rdapBootstrap: null, cdnAsns: [13335, 20940, 54113, 16625, 16509] } */
    tracing: tracingSchema.prefault({}),
    /** @default { files: [] } */
    hashList: hashListSchema.prefault({}),
    /** @default see schedule-schema.ts */
    schedule: scheduleSchema.prefault({}),
    /** @default { batchWindow: 0s, smtp: { url: null, from: vigil@localhost } } */
    notices: noticesSchema.prefault({}),
    /** @default { homeCountry: GB, hostingProviders: { notify: false }, recipients: [] } */
    directory: directorySchema.prefault({}),
    /** @default { deadline: 30s } */
    shutdown: shutdownSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    // Rules that span sections; each names the key to change.
    if (config.queue.checkLease <= config.crawler.timeouts.total) {
      ctx.addIssue({
        code: 'custom',
        path: ['queue', 'checkLease'],
        message: `must be longer than crawler.timeouts.total (${formatDuration(config.crawler.timeouts.total)}), or checks still running are dispatched again`,
      });
    }
    const { realert, escalate } = config.schedule;
    if (realert.max > 0 && escalate.afterRealerts > realert.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', 'escalate', 'afterRealerts'],
        message: `must be at most schedule.realert.max (${realert.max}), or no escalation is ever sent: a report gets no more re-alerts than that`,
      });
    }
    if (config.notices.smtp.url === null) {
      for (const [i, recipient] of config.directory.recipients.entries()) {
        if ('email' in recipient.channel) {
          ctx.addIssue({
            code: 'custom',
            path: ['directory', 'recipients', i, 'channel', 'email'],
            message: `needs notices.smtp.url: e-mail to ${recipient.id} goes through that relay, and every notice to it would fail`,
          });
        }
      }
    }
    if (config.directory.hostingProviders.notify && config.notices.smtp.url === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['directory', 'hostingProviders', 'notify'],
        message: 'needs notices.smtp.url: the abuse desks of hosting providers are told by e-mail',
      });
    }
  });

/** The configuration as parsed: durations in milliseconds, sizes in bytes. */
export type VigilConfig = z.output<typeof configSchema>;

/** The configuration as written (what the YAML file may contain). */
export type VigilConfigInput = z.input<typeof configSchema>;
