/**
 * The guard's decision and what it hands the dialler, with a fake resolver and a fake dialler:
 * nothing here opens a socket. Every address is loopback.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { describe, expect, test } from 'vitest';
import { parseCidrList } from '../../crawler/address-policy.js';
import { createGuardedConnector, guardDestination } from '../../crawler/guarded-connector.js';
import { NetworkGuardError } from '../../crawler/guard-errors.js';
import type { HostResolution, HostResolver } from '../../tracing/dns-resolver.js';

const ALLOW = parseCidrList(['127.0.0.2/31', '127.0.0.4/31']);

function fakeResolver(answers: Record<string, HostResolution>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolveHost: async (name) => {
      asked.push(name);
      return answers[name] ?? { kind: 'nxdomain' };
    },
  };
}

const resolver = fakeResolver({
  'ok.test': { kind: 'ok', addresses: ['127.0.0.2', '127.0.0.3'] },
  'mapped.test': { kind: 'ok', addresses: ['::ffff:127.0.0.4'] },
  'mixed.test': { kind: 'ok', addresses: ['127.0.0.2', '127.0.0.1'] },
  'mixed-late.test': { kind: 'ok', addresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '::1'] },
  'nodata.test': { kind: 'nodata' },
  'empty.test': { kind: 'ok', addresses: [] },
  'servfail.test': { kind: 'failure', code: 'ESERVFAIL' },
});

async function refusal(host: string): Promise<{ code: string; detail: string }> {
  const err = await guardDestination(host, resolver, ALLOW).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetworkGuardError);
  const { code, detail } = err as NetworkGuardError;
  return { code, detail };
}

describe('guardDestination', () => {
  test('an allowed literal is dialled as checked, in canonical form, without DNS', async () => {
    const before = resolver.asked.length;
    expect(await guardDestination('127.0.0.2', resolver, ALLOW)).toBe('127.0.0.2');
    expect(await guardDestination('[::ffff:7f00:3]', resolver, ALLOW)).toBe('127.0.0.3');
    expect(await guardDestination('::ffff:127.0.0.4', resolver, ALLOW)).toBe('127.0.0.4');
    expect(resolver.asked.length).toBe(before);
  });

  test('a refused literal names its range', async () => {
    expect(await refusal('127.0.0.1')).toEqual({ code: 'VIGIL_BLOCKED_ADDRESS', detail: 'loopback' });
    expect(await refusal('[::1]')).toEqual({ code: 'VIGIL_BLOCKED_ADDRESS', detail: 'loopback' });
    expect(await refusal('[::ffff:7f00:1]')).toEqual({ code: 'VIGIL_BLOCKED_ADDRESS', detail: 'loopback' });
  });

  test('a name is resolved once and its first address dialled', async () => {
    const before = resolver.asked.length;
    expect(await guardDestination('ok.test', resolver, ALLOW)).toBe('127.0.0.2');
    expect(resolver.asked.slice(before)).toEqual(['ok.test']);
    expect(await guardDestination('mapped.test', resolver, ALLOW)).toBe('127.0.0.4');
  });

  test('one refused address refuses the whole name, wherever it is in the answer', async () => {
    expect(await refusal('mixed.test')).toEqual({ code: 'VIGIL_BLOCKED_ADDRESS', detail: 'loopback' });
    expect(await refusal('mixed-late.test')).toEqual({ code: 'VIGIL_BLOCKED_ADDRESS', detail: 'loopback' });
  });

  test('resolution failures keep their kind', async () => {
    expect(await refusal('gone.test')).toEqual({ code: 'VIGIL_DNS_NXDOMAIN', detail: 'ENOTFOUND' });
    expect(await refusal('nodata.test')).toEqual({ code: 'VIGIL_DNS_NODATA', detail: 'ENODATA' });
    expect(await refusal('empty.test')).toEqual({ code: 'VIGIL_DNS_NODATA', detail: 'ENODATA' });
    expect(await refusal('servfail.test')).toEqual({ code: 'VIGIL_DNS_FAILURE', detail: 'ESERVFAIL' });
  });
});

describe('createGuardedConnector', () => {
  function recordingDial(): { dial: buildConnector.connector; calls: buildConnector.Options[] } {
    const calls: buildConnector.Options[] = [];
    return {
      calls,
      dial: (options, callback) => {
        calls.push(options);
        callback(null, { remoteAddress: options.hostname } as Socket);
      },
    };
  }

  function connect(
    connector: buildConnector.connector,
    options: buildConnector.Options,
  ): Promise<{ err: Error | null }> {
    return new Promise((resolve) => connector(options, (...args) => resolve({ err: args[0] })));
  }

  test('dials the checked address, keeps the name for SNI and the origin host', async () => {
    const { dial, calls } = recordingDial();
    const connected: Array<[string, string]> = [];
    const connector = createGuardedConnector({
      resolver,
      allow: ALLOW,
      dial,
      onConnected: (origin, address) => connected.push([origin, address]),
    });
    const { err } = await connect(connector, { hostname: 'ok.test', host: 'ok.test:8443', protocol: 'https:', port: '8443' });
    expect(err).toBeNull();
    expect(calls).toEqual([
      { hostname: '127.0.0.2', host: 'ok.test:8443', protocol: 'https:', port: '8443', servername: 'ok.test' },
    ]);
    expect(connected).toEqual([['https://ok.test:8443', '127.0.0.2']]);
  });

  test('an address literal gets no SNI name', async () => {
    const { dial, calls } = recordingDial();
    const connector = createGuardedConnector({ resolver, allow: ALLOW, dial });
    await connect(connector, { hostname: '::ffff:7f00:2', host: '[::ffff:7f00:2]:80', protocol: 'http:', port: '80' });
    expect(calls[0]?.hostname).toBe('127.0.0.2');
    expect(calls[0]?.servername).toBeUndefined();
  });

  test('a refusal reaches undici as an error with a code, and nothing is dialled', async () => {
    const { dial, calls } = recordingDial();
    const connector = createGuardedConnector({ resolver, allow: ALLOW, dial });
    const { err } = await connect(connector, { hostname: 'mixed.test', host: 'mixed.test', protocol: 'http:', port: '' });
    expect((err as NetworkGuardError).code).toBe('VIGIL_BLOCKED_ADDRESS');
    const literal = await connect(connector, { hostname: '127.0.0.1', host: '127.0.0.1', protocol: 'http:', port: '' });
    expect((literal.err as NetworkGuardError).code).toBe('VIGIL_BLOCKED_ADDRESS');
    expect(calls).toEqual([]);
  });
});
