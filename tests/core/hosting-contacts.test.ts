/**
 * Which RDAP abuse contacts become e-mail recipients (core/hosting-contacts.ts): the network's
 * abuse desks only, as plain addresses, at most three. The values stand in for hostile RDAP answers.
 */
import { describe, expect, it } from 'vitest';
import { hostingProviderEmails, MAX_HOSTING_CONTACTS, plainEmailAddress } from '../../core/hosting-contacts.js';

describe('plainEmailAddress', () => {
  it.each([
    ['abuse@net.example.test', 'abuse@net.example.test'],
    ['  Abuse@Net.Example.TEST ', 'abuse@net.example.test'],
    ['abuse+csam@as64496.example.test', 'abuse+csam@as64496.example.test'],
    ["o'brien.noc@sub-1.example.test", "o'brien.noc@sub-1.example.test"],
  ])('takes %j as %j', (input, expected) => {
    expect(plainEmailAddress(input)).toBe(expected);
  });

  it.each([
    ['a display name', 'Abuse Desk <abuse@net.example.test>'],
    ['a line break (header injection)', 'abuse@net.example.test\r\nBcc: someone@else.example.test'],
    ['two addresses', 'abuse@net.example.test, noc@net.example.test'],
    ['a quoted local part', '"abuse desk"@net.example.test'],
    ['an address-literal domain', 'abuse@[127.0.0.1]'],
    ['a numeric top-level label', 'abuse@127.0.0.1'],
    ['no domain dot', 'abuse@localhost'],
    ['two @', 'abuse@x@net.example.test'],
    ['an empty local part', '@net.example.test'],
    ['a leading dot', '.abuse@net.example.test'],
    ['a double dot', 'ab..use@net.example.test'],
    ['a label ending in a hyphen', 'abuse@net-.example.test'],
    ['a 65-character local part', `${'a'.repeat(65)}@net.example.test`],
    ['over 254 characters', `abuse@${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.test`],
    ['a mailto URI', 'mailto:abuse@net.example.test'],
    ['a number', 42],
    ['null', null],
  ])('refuses %s', (_name, input) => {
    expect(plainEmailAddress(input)).toBeNull();
  });
});

describe('hostingProviderEmails', () => {
  it('the abuse desks of the network, in the order found, without repeats; never the registrar’s', () => {
    expect(hostingProviderEmails([
      { source: 'ip', role: 'abuse', email: 'abuse@net.example.test' },
      { source: 'domain', role: 'registrar_abuse', email: 'abuse@registrar.example.test' },
      { source: 'ip', role: 'abuse', email: 'ABUSE@net.example.test' },
      { source: 'autnum', role: 'abuse', email: 'noc@as64496.example.test' },
      { source: 'ip', role: 'abuse', email: null },
    ])).toEqual(['abuse@net.example.test', 'noc@as64496.example.test']);
  });

  it(`at most ${MAX_HOSTING_CONTACTS}, skipping what is not a plain address`, () => {
    const contacts = [
      { role: 'abuse', email: 'Desk <a@x.example.test>' },
      ...Array.from({ length: 6 }, (_, i) => ({ role: 'abuse', email: `desk${i}@x.example.test` })),
    ];
    expect(hostingProviderEmails(contacts)).toEqual(['desk0@x.example.test', 'desk1@x.example.test', 'desk2@x.example.test']);
  });

  it('nothing from what is not a list of contacts', () => {
    for (const value of [undefined, null, 'abuse@x.example.test', { role: 'abuse', email: 'a@x.example.test' }, [null, 1, 'x']]) {
      expect(hostingProviderEmails(value)).toEqual([]);
    }
  });
});
