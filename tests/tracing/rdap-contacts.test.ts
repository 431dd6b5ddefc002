/**
 * Reading RFC 9083 answers: abuse contacts at any depth, missing vCards, registrars, and JSON that
 * is hostile rather than merely wrong. Pure functions: no network.
 */
import { describe, expect, test } from 'vitest';
import { abuseContacts, cleanEmail, parseAutnum, parseDomain, parseIpNetwork, parseVcard } from '../../tracing/rdap-contacts.js';
import { autnum, domain, ipNetwork, rdapEntity, vcard } from '../world/rdap-fixtures.js';

const registrant = { handle: 'ORG-SYN2', fn: 'Synthetic Hosting NL' };

describe('IP networks', () => {
  test('network name, registrant organisation, country, range; abuse nested in the registrant', () => {
    const info = parseIpNetwork(ipNetwork({ network: '127.0.0.0/29', name: 'SYN-NET', country: 'NL', registrant, abuseEmail: 'abuse@nl.example.test' }));
    expect(info).toMatchObject({ name: 'SYN-NET', country: 'NL', org: 'Synthetic Hosting NL', startAddress: '127.0.0.0', endAddress: '127.0.0.7' });
    expect(info.abuse).toEqual([{ handle: 'ORG-SYN2-ABUSE', name: 'Synthetic Hosting NL Abuse Desk', emails: ['abuse@nl.example.test'], roles: ['abuse'], depth: 1 }]);
  });

  test('abuse at the top level', () => {
    const info = parseIpNetwork(ipNetwork({ network: '127.0.0.2', registrant, abuse: 'top', abuseEmail: 'abuse@top.example.test' }));
    expect(info.abuse.map((c) => [c.emails, c.depth])).toEqual([[['abuse@top.example.test'], 0]]);
  });

  test('an abuse entity without a vCard is a contact without e-mail; no abuse entity is no contact', () => {
    expect(parseIpNetwork(ipNetwork({ network: '127.0.0.2', registrant, abuseVcard: false })).abuse).toEqual([
      { handle: 'ORG-SYN2-ABUSE', name: null, emails: [], roles: ['abuse'], depth: 1 },
    ]);
    expect(parseIpNetwork(ipNetwork({ network: '127.0.0.2', registrant, abuse: 'none' })).abuse).toEqual([]);
  });

  test('abuse deep inside other entities is found', () => {
    const deep = rdapEntity({ handle: 'DEEP-ABUSE', roles: ['abuse'], email: 'deep@abuse.example.test' });
    const obj = {
      objectClassName: 'ip network',
      entities: [rdapEntity({ handle: 'L0', roles: ['registrant'], entities: [rdapEntity({ handle: 'L1', roles: ['technical'], entities: [rdapEntity({ handle: 'L2', roles: ['noc'], entities: [deep] })] })] })],
    };
    expect(abuseContacts(obj)).toEqual([expect.objectContaining({ handle: 'DEEP-ABUSE', emails: ['deep@abuse.example.test'], depth: 3 })]);
  });

  test('autnum objects', () => {
    const info = parseAutnum(autnum({ asn: 64497, country: 'DE', abuseEmail: 'abuse@as64497.example.test' }));
    expect(info).toMatchObject({ handle: 'AS64497', name: 'AS64497-SYNTHETIC', country: 'DE', org: 'Synthetic Network 64497' });
    expect(info.abuse[0]?.emails).toEqual(['abuse@as64497.example.test']);
  });
});

describe('domains', () => {
  test('registrar, IANA id and the registrar abuse contact', () => {
    const info = parseDomain(domain({ name: 'fleet.test', abuseEmail: 'abuse@registrar.example.test' }));
    expect(info.ldhName).toBe('fleet.test');
    expect(info.registrar).toMatchObject({ name: 'Synthetic Registrar', handle: 'REGISTRAR-9999', ianaId: '9999' });
    expect(info.registrar?.abuse.map((c) => c.emails)).toEqual([['abuse@registrar.example.test']]);
    expect(info.related).toEqual([]);
  });

  test('registrar abuse at the top level is used when none is nested', () => {
    const info = parseDomain(domain({ name: 'top.test', abuse: 'top', abuseEmail: 'abuse@top-registrar.example.test' }));
    expect(info.registrar?.abuse.map((c) => c.emails)).toEqual([['abuse@top-registrar.example.test']]);
  });

  test('related links to the registrar\'s RDAP object are collected (http(s), /domain/ only)', () => {
    const obj = {
      ...domain({ name: 'thin.test', abuse: 'none' }),
      links: [
        { rel: 'self', href: 'http://127.0.0.1:1/domain/thin.test', type: 'application/rdap+json' },
        { rel: 'related', href: 'http://127.0.0.3:2/domain/thin.test', type: 'application/rdap+json' },
        { rel: 'related', href: 'file:///domain/thin.test' },
        { rel: 'related', href: 'http://127.0.0.3:2/about.html', type: 'text/html' },
      ],
    };
    expect(parseDomain(obj).related).toEqual(['http://127.0.0.3:2/domain/thin.test']);
    expect(parseDomain(obj).registrar?.abuse).toEqual([]);
  });
});

describe('vCards and e-mail addresses', () => {
  test('fn, structured org, several e-mails (mailto: dropped, domain lower-cased, duplicates once)', () => {
    const card = ['vcard', [
      ['version', {}, 'text', '4.0'],
      ['fn', {}, 'text', '  Abuse  Desk '],
      ['org', {}, 'text', ['Synthetic Org', 'Unit']],
      ['email', { type: 'work' }, 'text', 'Abuse@EXAMPLE.test'],
      ['email', {}, 'uri', 'mailto:noc@example.test'],
      ['email', {}, 'text', 'Abuse@example.test'],
    ]];
    expect(parseVcard(card)).toEqual({ fn: 'Abuse  Desk', org: 'Synthetic Org', emails: ['Abuse@example.test', 'noc@example.test'] });
  });

  test.each([
    ['abuse@example.test', 'abuse@example.test'],
    ['MAILTO:abuse@Example.TEST', 'abuse@example.test'],
    ['abuse@example.test\r\nBcc: victim@example.test', null],
    ['two@example.test, three@example.test', null],
    ['"Abuse" <abuse@example.test>', null],
    ['no-at-sign', null],
    ['abuse@localhost', null],
    [`${'a'.repeat(65)}@example.test`, null],
    [42, null],
  ])('cleanEmail(%j) = %j', (input, expected) => {
    expect(cleanEmail(input)).toBe(expected);
  });

  test('not a vCard: nothing', () => {
    expect(parseVcard(null)).toEqual({ fn: null, org: null, emails: [] });
    expect(parseVcard(['vcard', 'x'])).toEqual({ fn: null, org: null, emails: [] });
    expect(parseVcard(vcard({ fn: 'X' }))).toEqual({ fn: 'X', org: null, emails: [] });
  });
});

describe('hostile JSON does not crash or run away', () => {
  test('wrong types everywhere', () => {
    for (const junk of [null, 42, 'x', [], { entities: 'x' }, { entities: [null, 1, 'x', { roles: 'abuse' }, { roles: [1, null], vcardArray: {} }] }, { name: { x: 1 }, country: 7 }]) {
      expect(() => parseIpNetwork(junk)).not.toThrow();
      expect(() => parseDomain(junk)).not.toThrow();
      expect(() => parseAutnum(junk)).not.toThrow();
    }
    expect(parseIpNetwork({ name: { x: 1 }, country: 'Netherlands' })).toMatchObject({ name: null, country: null });
  });

  test('nesting is followed to a bounded depth', () => {
    let node: Record<string, unknown> = rdapEntity({ handle: 'BOTTOM', roles: ['abuse'], email: 'bottom@example.test' });
    for (let i = 0; i < 5_000; i++) node = { objectClassName: 'entity', roles: ['registrant'], entities: [node] };
    expect(parseIpNetwork({ entities: [node] }).abuse).toEqual([]);
  });

  test('breadth is bounded too', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => rdapEntity({ handle: `A${i}`, roles: ['abuse'], email: `a${i}@example.test` }));
    const info = parseIpNetwork({ entities: many });
    expect(info.abuse.length).toBeLessThanOrEqual(256);
    expect(info.abuse[0]?.emails).toEqual(['a0@example.test']);
  });

  test('long and control-character strings are cleaned and capped', () => {
    const info = parseIpNetwork({ name: `NET\u0000\u001b[31m${'X'.repeat(10_000)}` });
    expect(info.name).toMatch(/^NET \[31mX+$/);
    expect(info.name?.length).toBe(256);
  });
});
