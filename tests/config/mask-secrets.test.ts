import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { maskSecrets, maskUrlCredentials } from '../../config/mask-secrets.js';
import { parseConfig } from '../../config/parse-config.js';
import { renderConfig } from '../../config/render-config.js';
import { deepFreeze } from '../../config/load-config.js';

// Each secret is a distinct marker, so an assertion can say which one leaked.
const SECRETS = {
  adminToken: 'ADMIN-TOKEN-7f3a9c1e5b',
  webhook: 'whsec_V0VCSE9PSy1TRUNSRVQ=',
  db: 'DBPASS7c2e',
  dbQuery: 'DBQUERYPASS9d1f',
  redis: 'REDISPASS4b8a',
  smtp: 'SMTPPASS1e6c',
  proxy: 'PROXYPASS3f0d',
  proxyAt: 'PROXY@PASS',
};

const raw = {
  auth: { adminToken: SECRETS.adminToken },
  storage: { databaseUrl: `postgres://vigil:${SECRETS.db}@db.internal:5432/vigil?sslmode=require&password=${SECRETS.dbQuery}` },
  queue: { redisUrl: `rediss://default:${SECRETS.redis}@redis.internal:6380/0` },
  notices: { smtp: { url: `smtps://mailer:${SECRETS.smtp}@mail.internal:465`, from: 'Vigil <vigil@hotline.example>' } },
  crawler: {
    vantages: [
      { id: 'nl', proxy: `http://user:${SECRETS.proxy}@proxy-nl:3128` },
      { id: 'de', proxy: `http://user:${SECRETS.proxyAt}@proxy-de:3128` },
      { id: 'plain', proxy: 'http://proxy-plain:3128' },
    ],
  },
  directory: {
    recipients: [
      { id: 'hotline-nl', kind: 'hotline', name: 'Hotline NL', countries: ['NL'], channel: { webhook: { url: 'https://nl.example/hook', secret: SECRETS.webhook } } },
      { id: 'le', kind: 'law_enforcement', name: 'LE', countries: ['*'], channel: { email: { to: ['le@police.example'] } } },
    ],
  },
};

describe('maskSecrets', () => {
  const config = deepFreeze(parseConfig(raw, {}));
  const masked = maskSecrets(config);

  it('hides every secret from the rendered output', () => {
    const text = renderConfig(masked);
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(text.includes(secret), `${name} leaked`).toBe(false);
    }
    // and the unmasked rendering does contain them, so the check above can fail
    const unmasked = renderConfig(config);
    for (const secret of [SECRETS.adminToken, SECRETS.webhook, SECRETS.db, SECRETS.redis, SECRETS.smtp, SECRETS.proxy]) {
      expect(unmasked).toContain(secret);
    }
  });

  it('keeps everything else as it was', () => {
    expect(masked.auth.adminToken).toBe('***');
    expect(masked.storage.databaseUrl).toBe('postgres://vigil:***@db.internal:5432/vigil?sslmode=require&password=***');
    expect(masked.queue.redisUrl).toBe('rediss://default:***@redis.internal:6380/0');
    expect(masked.notices.smtp.url).toBe('smtps://mailer:***@mail.internal:465');
    expect(masked.notices.smtp.from).toBe('Vigil <vigil@hotline.example>');
    expect(masked.crawler.vantages.map((v) => v.proxy)).toEqual([
      'http://user:***@proxy-nl:3128',
      'http://user:***@proxy-de:3128',
      'http://proxy-plain:3128',
    ]);
    expect(masked.directory.recipients[0]?.channel).toEqual({ webhook: { url: 'https://nl.example/hook', secret: '***' } });
    expect(masked.directory.recipients[1]?.channel).toEqual({ email: { to: ['le@police.example'] } });
    expect(masked.http).toEqual(config.http);
    expect(masked.schedule).toEqual(config.schedule);
  });

  it('returns an unfrozen copy and leaves the original alone', () => {
    expect(Object.isFrozen(masked)).toBe(false);
    expect(config.auth.adminToken).toBe(SECRETS.adminToken);
  });

  it('leaves absent secrets null', () => {
    const defaults = maskSecrets(parseConfig({}, {}));
    expect(defaults.auth.adminToken).toBeNull();
    expect(defaults.storage.databaseUrl).toBeNull();
    expect(defaults.queue.redisUrl).toBe('redis://127.0.0.1:6379');
  });
});

describe('maskUrlCredentials', () => {
  it.each([
    ['redis://:pw@host:6379', 'redis://:***@host:6379'],
    ['redis://user@host:6379', 'redis://user@host:6379'],
    ['https://host:8443/path', 'https://host:8443/path'],
    ['https://host/hook?token=abc&x=1', 'https://host/hook?token=***&x=1'],
    ['postgres://u:p@ss:w/rd@db/x', 'postgres://u:***@db/x'],
    ['not a url', 'not a url'],
  ])('%j → %j', (input, output) => {
    expect(maskUrlCredentials(input)).toBe(output);
  });
});

describe('renderConfig', () => {
  it('prints durations and sizes as written, and parses back to the same configuration', () => {
    const config = parseConfig({ crawler: { timeouts: { total: '90s' }, maxBodyBytes: '64KB' }, schedule: { recheck: { notified: '15m' } } }, {});
    const text = renderConfig(config);
    expect(text).toContain('total: 90s');
    expect(text).toContain('maxBodyBytes: 64KB');
    expect(text).toContain('notified: 15m');
    expect(text).toContain('cdnAsns: [13335, 20940, 54113, 16625, 16509]');
    expect(parseConfig(YAML.parse(text), {})).toEqual(config);
  });
});
