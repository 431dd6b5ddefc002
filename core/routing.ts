/**
 * Who is told about a report, as pure rules over the directory (CONTRACT.md §5). For a report
 * confirmed illegal and live, hosted in country C:
 *
 * | rule id | § | when | who |
 * |---|---|---|---|
 * | `home_police_partners` | 1 | C is `homeCountry` | every `police_partner` listing C |
 * | `country_hotline` | 2 | C is not home | the first `hotline` listing C (directory order) |
 * | `country_authorities` | 3 | no hotline for C | every `police_partner` and `law_enforcement` listing C |
 * | `fallback_law_enforcement` | 3 | none of those | the first `law_enforcement` listing `"*"` |
 * | `task_force` | 4 | C known | every `task_force` listing C (besides the above) |
 * | `unknown_country` | 5 | C unknown | the first `law_enforcement` listing `"*"`; report flagged |
 *
 * Choices where §5 is silent (README "Routing"):
 * - `"*"` matches only in the fallbacks: a hotline, partner or task force listing `"*"` is never
 *   chosen for a country by rules 1, 2 and 4.
 * - Home country without a police partner: rules 2 and 3 apply as for any other country, so
 *   somebody is always told when the directory allows it.
 * - Nobody at all (no fallback configured): no notice, and the report is flagged `unrouted`.
 *
 * Pure: the caller passes the directory (config) and the hosting.
 */

/** The kinds of recipient (mirrors config `RECIPIENT_KINDS`; core imports nothing of config/). */
export type RoutingRecipientKind = 'hotline' | 'law_enforcement' | 'police_partner' | 'task_force';

/** What routing needs of a `directory.recipients` entry. */
export interface DirectoryEntry {
  id: string;
  kind: RoutingRecipientKind;
  /** ISO 3166-1 alpha-2 codes, or `"*"` */
  countries: readonly string[];
}

/** What routing needs of `directory`. */
export interface RoutingDirectory {
  homeCountry: string;
  recipients: readonly DirectoryEntry[];
  /** `hostingProviders.notify`: also tell the hosting network's abuse desks (notice-cadence.ts) */
  hostingProviders?: { notify: boolean };
}

export type RoutingRule =
  | 'home_police_partners'
  | 'country_hotline'
  | 'country_authorities'
  | 'fallback_law_enforcement'
  | 'unknown_country'
  | 'task_force'
  | 'escalation';

/** Why a report is shown as needing an operator on /admin. */
export type RoutingFlag = 'unknown_country' | 'unrouted';

export interface Route {
  recipientId: string;
  kind: RoutingRecipientKind;
  rule: RoutingRule;
}

export interface RoutingDecision {
  /** the country routed on, normalised; null when unknown */
  country: string | null;
  /** who gets `initial` and `realert` notices */
  recipients: Route[];
  /** who gets `taskforce_alert` (rule 4) */
  taskForces: Route[];
  flag: RoutingFlag | null;
}

export const FALLBACK_COUNTRY = '*';

/** A usable country code, uppercase; null for unknown, empty or malformed values. */
export function normaliseCountry(country: string | null | undefined): string | null {
  if (country === null || country === undefined) return null;
  const c = country.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(c) ? c : null;
}

const lists = (entry: DirectoryEntry, country: string): boolean => entry.countries.includes(country);

function pick(directory: RoutingDirectory, kinds: readonly RoutingRecipientKind[], country: string): DirectoryEntry[] {
  return directory.recipients.filter((r) => kinds.includes(r.kind) && lists(r, country));
}

const route = (rule: RoutingRule) => (entry: DirectoryEntry): Route => ({ recipientId: entry.id, kind: entry.kind, rule });

/** The `"*"` law-enforcement recipient, if the directory has one (the first listed). */
export function fallbackLawEnforcement(directory: RoutingDirectory): DirectoryEntry | null {
  return pick(directory, ['law_enforcement'], FALLBACK_COUNTRY)[0] ?? null;
}

/** Rules 1–5 for a report hosted in `country` (null or malformed: unknown). */
export function routeReport(directory: RoutingDirectory, country: string | null): RoutingDecision {
  const c = normaliseCountry(country);
  if (c === null) {
    const fallback = fallbackLawEnforcement(directory);
    return { country: null, recipients: fallback ? [route('unknown_country')(fallback)] : [], taskForces: [], flag: 'unknown_country' };
  }
  const taskForces = pick(directory, ['task_force'], c).map(route('task_force'));
  const done = (recipients: Route[]): RoutingDecision => ({ country: c, recipients, taskForces, flag: recipients.length === 0 ? 'unrouted' : null });

  if (c === normaliseCountry(directory.homeCountry)) {
    const partners = pick(directory, ['police_partner'], c);
    if (partners.length > 0) return done(partners.map(route('home_police_partners')));
  }
  const hotline = pick(directory, ['hotline'], c)[0];
  if (hotline) return done([route('country_hotline')(hotline)]);
  const authorities = pick(directory, ['police_partner', 'law_enforcement'], c);
  if (authorities.length > 0) return done(authorities.map(route('country_authorities')));
  const fallback = fallbackLawEnforcement(directory);
  return done(fallback ? [route('fallback_law_enforcement')(fallback)] : []);
}

/**
 * Who gets an `escalation`: the law-enforcement recipient for `country` (the first listing it),
 * else the `"*"` one; null when the directory has neither.
 */
export function escalationRecipient(directory: RoutingDirectory, country: string | null): Route | null {
  const c = normaliseCountry(country);
  const entry = (c === null ? undefined : pick(directory, ['law_enforcement'], c)[0]) ?? fallbackLawEnforcement(directory);
  return entry ? route('escalation')(entry) : null;
}
