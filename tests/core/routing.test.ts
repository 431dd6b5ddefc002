/**
 * CONTRACT.md §5 rules 1–5 as a table: every recipient kind, home and foreign countries, the
 * fallback, unknown countries, and the choices README "Routing" documents.
 */
import { describe, expect, it } from 'vitest';
import { escalationRecipient, normaliseCountry, routeReport, type DirectoryEntry, type RoutingDirectory } from '../../core/routing.js';

const r = (id: string, kind: DirectoryEntry['kind'], ...countries: string[]): DirectoryEntry => ({ id, kind, countries });

/** A directory with something for every rule. Home is GB. */
const FULL: RoutingDirectory = {
  homeCountry: 'GB',
  recipients: [
    r('pp-gb-1', 'police_partner', 'GB'),
    r('pp-gb-2', 'police_partner', 'GB', 'IE'),
    r('le-gb', 'law_enforcement', 'GB'),
    r('hotline-nl', 'hotline', 'NL'),
    r('hotline-nl-2', 'hotline', 'NL'),
    r('pp-nl', 'police_partner', 'NL'),
    r('le-nl', 'law_enforcement', 'NL'),
    r('pp-us', 'police_partner', 'US'),
    r('le-us', 'law_enforcement', 'US'),
    r('le-de', 'law_enforcement', 'DE'),
    r('tf-nl', 'task_force', 'NL'),
    r('tf-eu', 'task_force', 'NL', 'DE'),
    r('tf-gb', 'task_force', 'GB'),
    r('le-star', 'law_enforcement', '*'),
    r('le-star-2', 'law_enforcement', '*'),
    r('hotline-star', 'hotline', '*'),
    r('pp-star', 'police_partner', '*'),
    r('tf-star', 'task_force', '*'),
  ],
};

const ids = (routes: { recipientId: string }[]): string[] => routes.map((x) => x.recipientId);

describe('routeReport (CONTRACT.md §5)', () => {
  it.each([
    // [case, directory, country, recipients, rule, taskForces, flag]
    ['1: home country → every police partner for it', FULL, 'GB', ['pp-gb-1', 'pp-gb-2'], 'home_police_partners', ['tf-gb'], null],
    ['2: a hotline for the country (the first listed)', FULL, 'NL', ['hotline-nl'], 'country_hotline', ['tf-nl', 'tf-eu'], null],
    ['3: no hotline → every police partner and law enforcement for it', FULL, 'US', ['pp-us', 'le-us'], 'country_authorities', [], null],
    ['3: law enforcement alone', FULL, 'DE', ['le-de'], 'country_authorities', ['tf-eu'], null],
    ['3: a partner listing several countries', FULL, 'IE', ['pp-gb-2'], 'country_authorities', [], null],
    ['3: nobody for the country → the "*" law enforcement (the first)', FULL, 'FR', ['le-star'], 'fallback_law_enforcement', [], null],
    ['5: unknown country → "*" law enforcement, flagged', FULL, null, ['le-star'], 'unknown_country', [], 'unknown_country'],
    ['5: malformed country is unknown', FULL, 'XYZ', ['le-star'], 'unknown_country', [], 'unknown_country'],
    ['5: empty country is unknown', FULL, '', ['le-star'], 'unknown_country', [], 'unknown_country'],
  ] as const)('%s', (_name, directory, country, recipients, rule, taskForces, flag) => {
    const d = routeReport(directory, country);
    expect(ids(d.recipients)).toEqual(recipients);
    expect(d.recipients.every((x) => x.rule === rule)).toBe(true);
    expect(ids(d.taskForces)).toEqual(taskForces);
    expect(d.taskForces.every((x) => x.rule === 'task_force')).toBe(true);
    expect(d.flag).toBe(flag);
  });

  it('normalises the country (case, spaces)', () => {
    expect(routeReport(FULL, ' nl ').country).toBe('NL');
    expect(ids(routeReport(FULL, 'nl').recipients)).toEqual(['hotline-nl']);
    expect(normaliseCountry('gb')).toBe('GB');
    expect(normaliseCountry('G1')).toBeNull();
    expect(normaliseCountry(undefined)).toBeNull();
  });

  it('home country without a police partner falls through to rules 2 and 3', () => {
    const dir: RoutingDirectory = { homeCountry: 'NL', recipients: FULL.recipients.filter((x) => x.id !== 'pp-nl') };
    expect(ids(routeReport(dir, 'NL').recipients)).toEqual(['hotline-nl']);
    const noHotline: RoutingDirectory = { homeCountry: 'DE', recipients: FULL.recipients };
    expect(routeReport(noHotline, 'DE').recipients).toEqual([{ recipientId: 'le-de', kind: 'law_enforcement', rule: 'country_authorities' }]);
  });

  it('home country with partners does not tell its hotline or law enforcement', () => {
    const dir: RoutingDirectory = { homeCountry: 'NL', recipients: FULL.recipients };
    expect(ids(routeReport(dir, 'NL').recipients)).toEqual(['pp-nl']);
    expect(routeReport(dir, 'NL').recipients[0]?.rule).toBe('home_police_partners');
  });

  it('"*" entries other than law enforcement are never chosen', () => {
    for (const c of ['FR', 'JP', null]) {
      const d = routeReport(FULL, c);
      expect(ids(d.recipients)).not.toContain('hotline-star');
      expect(ids(d.recipients)).not.toContain('pp-star');
      expect(ids(d.taskForces)).not.toContain('tf-star');
    }
  });

  it('no fallback configured: nobody, flagged unrouted (or unknown_country)', () => {
    const dir: RoutingDirectory = { homeCountry: 'GB', recipients: FULL.recipients.filter((x) => !x.countries.includes('*')) };
    expect(routeReport(dir, 'FR')).toEqual({ country: 'FR', recipients: [], taskForces: [], flag: 'unrouted' });
    expect(routeReport(dir, null)).toEqual({ country: null, recipients: [], taskForces: [], flag: 'unknown_country' });
    expect(routeReport({ homeCountry: 'GB', recipients: [] }, 'GB')).toEqual({ country: 'GB', recipients: [], taskForces: [], flag: 'unrouted' });
  });

  it('task forces are alerted whatever rule told the others, and only for their countries', () => {
    const dir: RoutingDirectory = { homeCountry: 'GB', recipients: [r('tf-fr', 'task_force', 'FR'), r('le-star', 'law_enforcement', '*')] };
    expect(routeReport(dir, 'FR')).toEqual({
      country: 'FR',
      recipients: [{ recipientId: 'le-star', kind: 'law_enforcement', rule: 'fallback_law_enforcement' }],
      taskForces: [{ recipientId: 'tf-fr', kind: 'task_force', rule: 'task_force' }],
      flag: null,
    });
    expect(routeReport(dir, 'BE').taskForces).toEqual([]);
  });

  it('a hosting move routes to the new country', () => {
    expect(ids(routeReport(FULL, 'NL').recipients)).toEqual(['hotline-nl']);
    expect(ids(routeReport(FULL, 'US').recipients)).toEqual(['pp-us', 'le-us']);
  });
});

describe('escalationRecipient', () => {
  it.each([
    ['the law enforcement for the country', 'NL', 'le-nl'],
    ['the first law enforcement listing the country', 'GB', 'le-gb'],
    ['"*" when the country has none', 'FR', 'le-star'],
    ['"*" for an unknown country', null, 'le-star'],
  ] as const)('%s', (_name, country, expected) => {
    expect(escalationRecipient(FULL, country)).toEqual({ recipientId: expected, kind: 'law_enforcement', rule: 'escalation' });
  });

  it('null when there is neither', () => {
    expect(escalationRecipient({ homeCountry: 'GB', recipients: [r('pp-fr', 'police_partner', 'FR')] }, 'FR')).toBeNull();
  });
});
