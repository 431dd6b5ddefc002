/**
 * `directory.*`: who is told about a report (CONTRACT.md §5) and through which channel (§6).
 * Endpoints written here are trusted as written (§7): they are not subject to the network guard.
 */
import { z } from 'zod';
import { countryCodeSchema, recipientCountrySchema } from './country-codes.js';
import { emailAddressSchema, httpUrlSchema, identifierSchema, nonEmptyStringSchema, uniqueIds, EVEN_WITH_OTHER_PROBLEMS } from './field-formats.js';

/** The kinds of recipient routing distinguishes (CONTRACT.md §5). */
export const RECIPIENT_KINDS = ['hotline', 'law_enforcement', 'police_partner', 'task_force'] as const;

/** A recipient's kind. */
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];

/**
 * A Standard Webhooks signing secret, `whsec_` then base64. The value itself is never repeated
 * in an error message.
 */
export const webhookSecretSchema = z.string().superRefine((input, ctx) => {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(input)) {
    ctx.addIssue({ code: 'custom', message: 'expected a Standard Webhooks secret: "whsec_" followed by base64' });
  }
});

/** Deliver notices as signed HTTP POSTs (Standard Webhooks). */
export const webhookChannelSchema = z.strictObject({
  /** Endpoint notices are POSTed to; redirects are not followed. */
  url: httpUrlSchema,
  /** Signing secret, `whsec_…`. Masked when printed. */
  secret: webhookSecretSchema,
});

/** Deliver notices as e-mail through `notices.smtp`, one message per notice. */
export const emailChannelSchema = z.strictObject({
  /** Addresses every notice goes to; at least one. */
  to: z.array(emailAddressSchema).min(1, { error: 'must list at least one address' }),
});

/** A recipient's channel: exactly one of `webhook` or `email`. */
export type Channel = { webhook: z.output<typeof webhookChannelSchema> } | { email: z.output<typeof emailChannelSchema> };

/**
 * `{ webhook: { url, secret } }` or `{ email: { to: [...] } }`. Parsed as one strict object with
 * both keys optional, rather than a union, so that a mistake inside either names its own path
 * instead of "does not match any accepted form".
 */
export const channelSchema = z
  .strictObject({
    webhook: webhookChannelSchema.optional(),
    email: emailChannelSchema.optional(),
  })
  .superRefine((channel, ctx) => {
    const given = (channel.webhook === undefined ? 0 : 1) + (channel.email === undefined ? 0 : 1);
    if (given !== 1) {
      ctx.addIssue({ code: 'custom', message: given === 0 ? 'expected webhook or email' : 'expected only one of webhook or email' });
    }
  })
  .transform((channel): Channel => (channel.webhook !== undefined ? { webhook: channel.webhook } : { email: channel.email ?? { to: [] } }));

/** One entry of `directory.recipients`. */
export const recipientSchema = z.strictObject({
  /** Unique id; API keys of role `recipient` name it. */
  id: identifierSchema,
  /** `hotline`, `law_enforcement`, `police_partner` or `task_force`; decides routing (§5). */
  kind: z.enum(RECIPIENT_KINDS),
  /** Human-readable name, used in notices and on `/admin`. */
  name: nonEmptyStringSchema,
  /** ISO 3166-1 alpha-2 codes this recipient covers; `"*"` = the fallback. At least one. */
  countries: z.array(recipientCountrySchema).min(1, { error: 'must list at least one country, or "*"' }),
  /** How notices reach this recipient. */
  channel: channelSchema,
});

/** A parsed recipient. */
export type Recipient = z.output<typeof recipientSchema>;

/** `directory`: routing of notices. */
export const directorySchema = z.strictObject({
  /**
   * The country this hotline operates in: content hosted here goes to its `police_partner`s.
   * @default GB
   */
  homeCountry: countryCodeSchema.default('GB'),
  hostingProviders: z
    .strictObject({
      /**
       * Also notify the RDAP abuse contacts of the hosting provider: the abuse desks of the network
       * serving the content that the latest trace found (at most 3), by e-mail through
       * `notices.smtp` (required then), with the initial notice, the re-alerts and the removal
       * confirmation (core/notice-cadence.ts).
       * @default false
       */
      notify: z.boolean().default(false),
    })
    .prefault({}),
  /**
   * Who may be told (see CONTRACT.md §5); ids are unique.
   * @default []
   */
  recipients: z.array(recipientSchema).superRefine(uniqueIds, EVEN_WITH_OTHER_PROBLEMS).prefault([]),
});

/** The parsed `directory` section. */
export type DirectoryConfig = z.output<typeof directorySchema>;
