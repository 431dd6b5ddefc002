/**
 * core/trace-change.ts: when hosting counts as moved (CONTRACT.md §5), and when to trace again.
 * Pure table tests.
 */
import { describe, expect, test } from 'vitest';
import type { Hosting } from '../../core/store.js';
import { afterTrace, hostingChanged, shouldRetrace } from '../../core/trace-change.js';

const at = (ip: string | null, country: string | null, asn: number | null = 64496): Hosting => ({ ip, country, asn, org: null, viaCdn: false });

describe('hostingChanged', () => {
  test.each([
    ['same address, same country', at('127.0.0.2', 'NL'), at('127.0.0.2', 'NL'), { countryChanged: false, ipChanged: false }],
    ['new address in the same country', at('127.0.0.2', 'NL'), at('127.0.0.3', 'NL'), { countryChanged: false, ipChanged: true }],
    ['new address in another country', at('127.0.0.2', 'NL'), at('127.0.0.3', 'DE'), { countryChanged: true, ipChanged: true }],
    ['same address, the database now says another country', at('127.0.0.2', 'NL'), at('127.0.0.2', 'DE'), { countryChanged: true, ipChanged: false }],
    ['known country to unknown (routes to "*")', at('127.0.0.2', 'NL'), at('127.0.0.6', null), { countryChanged: true, ipChanged: true }],
    ['unknown country to known', at('127.0.0.6', null), at('127.0.0.2', 'NL'), { countryChanged: true, ipChanged: true }],
    ['unknown to unknown', at('127.0.0.6', null), at('127.0.0.7', null), { countryChanged: false, ipChanged: true }],
    ['country codes compare case-insensitively', at('127.0.0.2', 'nl'), at('127.0.0.2', 'NL'), { countryChanged: false, ipChanged: false }],
    ['IPv4-mapped IPv6 is the same address', at('::ffff:127.0.0.2', 'NL'), at('127.0.0.2', 'NL'), { countryChanged: false, ipChanged: false }],
    ['IPv6 case does not matter', at('::A', 'NL'), at('::a', 'NL'), { countryChanged: false, ipChanged: false }],
    ['first located trace is not a move', null, at('127.0.0.2', 'NL'), { countryChanged: false, ipChanged: false }],
    ['after traces that found no address, the first address is not a move', at(null, null), at('127.0.0.2', 'NL'), { countryChanged: false, ipChanged: false }],
    ['a trace that found no address says nothing', at('127.0.0.2', 'NL'), at(null, null), { countryChanged: false, ipChanged: false }],
    ['no current trace says nothing', at('127.0.0.2', 'NL'), null, { countryChanged: false, ipChanged: false }],
  ] as const)('%s', (_name, previous, current, expected) => {
    expect(hostingChanged(previous, current)).toEqual(expected);
  });
});

describe('shouldRetrace', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  const hourAgo = new Date('2030-01-01T11:00:00Z');
  const everyMs = 24 * 3600_000;

  test.each([
    ['never traced', null, null, true],
    ['last trace found no address', { hosting: at(null, null), tracedAt: hourAgo }, null, true],
    ['last trace had no hosting block', { hosting: null, tracedAt: hourAgo }, null, true],
    ['a check saw another address', { hosting: at('127.0.0.2', 'NL'), tracedAt: hourAgo }, '127.0.0.3', true],
    ['a check saw the same address (mapped form)', { hosting: at('127.0.0.2', 'NL'), tracedAt: hourAgo }, '::ffff:127.0.0.2', false],
    ['no address seen, trace recent', { hosting: at('127.0.0.2', 'NL'), tracedAt: hourAgo }, null, false],
    ['trace older than the schedule', { hosting: at('127.0.0.2', 'NL'), tracedAt: new Date(now.getTime() - everyMs) }, null, true],
  ] as const)('%s → %s', (_name, last, observedIp, expected) => {
    expect(shouldRetrace({ last, observedIp, now, everyMs })).toBe(expected);
  });
});

describe('afterTrace', () => {
  const nl = { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'NL hosting', viaCdn: false };
  const de = { ...nl, ip: '127.0.0.3', country: 'DE' };
  const none = { ip: null, country: null, asn: null, org: null, viaCdn: false };
  test.each([
    ['first trace, live illegal', null, nl, 'live', 'illegal', { decideNow: true, keepHosting: false }],
    ['first trace, notified illegal', null, nl, 'notified', 'illegal', { decideNow: true, keepHosting: false }],
    ['first trace, no address found', null, none, 'live', 'illegal', { decideNow: true, keepHosting: false }],
    ['first trace, no verdict', null, nl, 'live', null, { decideNow: false, keepHosting: false }],
    ['first trace, pending', null, nl, 'pending', 'illegal', { decideNow: false, keepHosting: false }],
    ['same country, new address', nl, { ...nl, ip: '127.0.0.7' }, 'notified', 'illegal', { decideNow: false, keepHosting: false }],
    ['country moved', nl, de, 'notified', 'illegal', { decideNow: true, keepHosting: false }],
    ['country moved, not illegal', nl, de, 'live', 'not_illegal', { decideNow: false, keepHosting: false }],
    ['no address now', nl, none, 'notified', 'illegal', { decideNow: false, keepHosting: true }],
    ['located after address-less traces', none, nl, 'live', 'illegal', { decideNow: true, keepHosting: false }],
  ] as const)('%s', (_name, previous, current, status, verdict, expected) => {
    expect(afterTrace({ previous, current, status, verdict })).toEqual(expected);
  });
});
