import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/config-error.js';
import { parseConfig } from '../../config/parse-config.js';
import { isVigilError } from '../../core/errors.js';

/** The problem lines of the ConfigError that parsing `raw` throws. */
function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(raw, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(isVigilError(err, 'CONFIG_INVALID')).toBe(true);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

const webhook = { webhook: { url: 'https://hotline.example/hook', secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' } };

describe('defaults', () => {
  const config = parseConfig(undefined, {});

  it('equal CONTRACT.md §3', () => {
    expect(config.dataDir).toBe('./data');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, publicUrl: 'http://127.0.0.1:8080', metricsPublic: false, rateLimit: { perSecond: 20, burst: 100 } });
    expect(config.auth.adminToken).toBeNull();
    expect(config.storage.databaseUrl).toBeNull();
    expect(config.queue.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.queue.prefix).toBe('vigil');
    expect(config.crawler).toEqual({
      dnsServers: [],
      allowNetworks: [],
      userAgent: 'Mozilla/5.0 (compatible; vigil)',
      timeouts: { connect: 10_000, total: 30_000 },
      maxBodyBytes: 10 * 1024 * 1024,
      maxRedirects: 10,
      concurrency: 256,
      perHostConcurrency: 4,
      mediaPolicy: 'metadata',
      takedownPatterns: [],
      browser: { enabled: 'auto', executablePath: null, pages: 4 },
      vantages: [],
    });
    expect(config.tracing).toEqual({ countryDb: [], asnDb: [], rdapBootstrap: null, cdnAsns: [13335, 20940, 54113, 16625, 16509] });
    expect(config.hashList.files).toEqual([]);
    expect(config.schedule).toEqual({
      recheck: { live: 3_600_000, notified: 1_800_000, removed: 86_400_000, unreachable: 21_600_000 },
      realert: { first: 86_400_000, every: 86_400_000, max: 14 },
      escalate: { afterRealerts: 3 },
      removal: { confirmations: 3, window: 3_600_000 },
      watchAfterRemoval: 30 * 86_400_000,
      expireAfter: 90 * 86_400_000,
    });
    expect(config.notices).toEqual({ batchWindow: 0, smtp: { url: null, from: 'vigil@localhost' } });
    expect(config.directory).toEqual({ homeCountry: 'GB', hostingProviders: { notify: false }, recipients: [] });
  });

  it('include the extra queue and shutdown keys', () => {
    expect(config.queue).toMatchObject({
      workerConcurrency: 16,
      lockDuration: 60_000,
      dispatchInterval: 1_000,
      dispatchBatch: 500,
      checkLease: 600_000,
    });
    expect(config.shutdown.deadline).toBe(30_000);
  });

  it('are the same for an empty file ({} or null)', () => {
    expect(parseConfig({}, {})).toEqual(config);
    expect(parseConfig(null, {})).toEqual(config);
  });

  it('apply to sections and lists left empty in YAML', () => {
    const empty = parseConfig({ http: null, crawler: { browser: null, vantages: null }, directory: { recipients: null } }, {});
    expect(empty.http.port).toBe(8080);
    expect(empty.crawler.browser.pages).toBe(4);
    expect(empty.crawler.vantages).toEqual([]);
    expect(empty.directory.recipients).toEqual([]);
    expect(problemsOf({ crawler: { userAgent: null } })).toEqual(['crawler.userAgent: expected a string, got null']);
  });

  it('fill in what a partial section leaves out', () => {
    const partial = parseConfig({ crawler: { timeouts: { total: '2m' } }, schedule: { realert: { max: 5 } } }, {});
    expect(partial.crawler.timeouts).toEqual({ connect: 10_000, total: 120_000 });
    expect(partial.crawler.maxRedirects).toBe(10);
    expect(partial.schedule.realert).toEqual({ first: 86_400_000, every: 86_400_000, max: 5 });
  });

  it('are not shared between parses', () => {
    const a = parseConfig({}, {});
    a.tracing.cdnAsns.push(1);
    expect(parseConfig({}, {}).tracing.cdnAsns).toHaveLength(5);
  });

  it('derive publicUrl from host and port when it is not set', () => {
    expect(parseConfig({ http: { port: 9090 } }, {}).http.publicUrl).toBe('http://127.0.0.1:9090');
    expect(parseConfig({ http: { host: '::', port: 80 } }, {}).http.publicUrl).toBe('http://[::1]:80');
    expect(parseConfig({ http: { publicUrl: 'https://vigil.example/', port: 9090 } }, {}).http.publicUrl).toBe('https://vigil.example');
  });
});

describe('unknown keys', () => {
  it.each([
    [{ bogus: 1 }, 'bogus: unknown key'],
    [{ crawler: { foo: 1 } }, 'crawler.foo: unknown key'],
    [{ crawler: { timeouts: { read: '5s' } } }, 'crawler.timeouts.read: unknown key'],
    [{ schedule: { recheck: { gone: '1h' } } }, 'schedule.recheck.gone: unknown key'],
    [{ crawler: { vantages: [{ id: 'a', proxy: 'http://p:1', region: 'eu' }] } }, 'crawler.vantages[0].region: unknown key'],
    [
      { directory: { recipients: [{ id: 'r', kind: 'hotline', name: 'R', countries: ['NL'], channel: { ...webhook, sms: {} } }] } },
      'directory.recipients[0].channel.sms: unknown key',
    ],
  ])('%j is reported as %j', (raw, line) => {
    expect(problemsOf(raw)).toEqual([line]);
  });

  it('suggest the key that was probably meant', () => {
    expect(problemsOf({ crawler: { timeout: {} } })).toEqual(['crawler.timeout: unknown key (did you mean timeouts?)']);
    expect(problemsOf({ Crawler: {} })).toEqual(['Crawler: unknown key (did you mean crawler?)']);
  });
});

describe('bad values', () => {
  it('are all reported together, each with its key path', () => {
    const problems = problemsOf({
      http: { port: 70_000 },
      crawler: { timeouts: { total: 'fast' }, maxBodyBytes: 'lots', mediaPolicy: 'all', browser: { enabled: 'yes' } },
      schedule: { removal: { confirmations: 0 } },
      directory: { homeCountry: 'UK' },
    });
    expect(problems).toEqual([
      'http.port: must be at most 65535, got 70000',
      'crawler.timeouts.total: expected a duration such as 500ms, 90s, 15m, 24h or 7d, got "fast"',
      'crawler.maxBodyBytes: expected a size such as 512B, 64KB, 10MB or 1GB, got "lots"',
      'crawler.mediaPolicy: expected one of metadata, hash, got "all"',
      'crawler.browser.enabled: expected auto, true or false, got "yes"',
      'schedule.removal.confirmations: must be at least 1, got 0',
      'directory.homeCountry: not an ISO 3166-1 alpha-2 code (did you mean GB?), got "UK"',
    ]);
  });

  it('reports a wrong type and a missing required key', () => {
    expect(problemsOf({ http: 'localhost', crawler: { vantages: [{ proxy: 'http://p:1' }] } })).toEqual([
      'http: expected a mapping of keys to values, got "localhost"',
      'crawler.vantages[0].id: is required',
    ]);
    expect(problemsOf(['a'])).toEqual(['(top level): expected a mapping of keys to values, got a list']);
    expect(problemsOf({ directory: { recipients: 'none' } })).toEqual(['directory.recipients: expected a list, got "none"']);
  });

  it('directory.hostingProviders.notify needs notices.smtp.url: abuse desks are told by e-mail', () => {
    expect(problemsOf({ directory: { hostingProviders: { notify: true } } })).toEqual([
      'directory.hostingProviders.notify: needs notices.smtp.url: the abuse desks of hosting providers are told by e-mail',
    ]);
    const config = parseConfig({ directory: { hostingProviders: { notify: true } }, notices: { smtp: { url: 'smtp://127.0.0.1:2525' } } }, {});
    expect(config.directory.hostingProviders.notify).toBe(true);
  });

  it('schedule.escalate.afterRealerts may not exceed schedule.realert.max: the escalation would never be sent', () => {
    expect(problemsOf({ schedule: { realert: { max: 2 } } })).toEqual([
      'schedule.escalate.afterRealerts: must be at most schedule.realert.max (2), or no escalation is ever sent: a report gets no more re-alerts than that',
    ]);
    expect(problemsOf({ schedule: { realert: { max: 4 }, escalate: { afterRealerts: 5 } } })).toHaveLength(1);
    expect(parseConfig({ schedule: { realert: { max: 2 }, escalate: { afterRealerts: 2 } } }, {}).schedule.escalate.afterRealerts).toBe(2);
    // no re-alerts at all is a choice, and it leaves nothing to escalate after
    expect(parseConfig({ schedule: { realert: { max: 0 } } }, {}).schedule.realert.max).toBe(0);
  });

  it('an e-mail recipient needs notices.smtp.url: without the relay every notice to it would fail', () => {
    const recipients = [
      { id: 'hotline-nl', kind: 'hotline', name: 'NL', countries: ['NL'], channel: { webhook: { url: 'https://hotline.test/hook', secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0' } } },
      { id: 'hotline-be', kind: 'hotline', name: 'BE', countries: ['BE'], channel: { email: { to: ['hotline@be.test'] } } },
    ];
    expect(problemsOf({ directory: { recipients } })).toEqual([
      'directory.recipients[1].channel.email: needs notices.smtp.url: e-mail to hotline-be goes through that relay, and every notice to it would fail',
    ]);
    expect(parseConfig({ directory: { recipients }, notices: { smtp: { url: 'smtp://127.0.0.1:2525' } } }, {}).directory.recipients).toHaveLength(2);
  });

  it('crawler.concurrency is at most 256 per process', () => {
    expect(problemsOf({ crawler: { concurrency: 1000 } })).toEqual(['crawler.concurrency: must be at most 256, got 1000']);
    expect(parseConfig({ crawler: { concurrency: 256 } }, {}).crawler.concurrency).toBe(256);
  });

  it('hashList.files work under either media policy (submitted digests are looked up at intake)', () => {
    for (const mediaPolicy of ['metadata', 'hash'] as const) {
      expect(parseConfig({ hashList: { files: ['/etc/vigil/known.txt'] }, crawler: { mediaPolicy } }, {}).hashList.files).toEqual(['/etc/vigil/known.txt']);
    }
  });

  it('accepts browser.enabled auto, true and false', () => {
    for (const enabled of ['auto', true, false] as const) {
      expect(parseConfig({ crawler: { browser: { enabled } } }, {}).crawler.browser.enabled).toBe(enabled);
    }
  });

  it('refuses takedown patterns that do not compile, naming the index', () => {
    const problems = problemsOf({ crawler: { takedownPatterns: ['account suspended', 'removed (by', '[a-'] } });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^crawler\.takedownPatterns\[1\]: not a valid regular expression \(.+\), got "removed \(by"$/);
    expect(problems[1]).toMatch(/^crawler\.takedownPatterns\[2\]: not a valid regular expression/);
  });

  it('refuses a takedown pattern that matches every page', () => {
    expect(problemsOf({ crawler: { takedownPatterns: ['.*'] } })).toEqual([
      'crawler.takedownPatterns[0]: matches the empty string, so it would match every page, got ".*"',
    ]);
  });

  it('checks CIDRs in allowNetworks', () => {
    const ok = ['127.0.0.0/8', '127.0.0.2/32', '::1/128', '::ffff:127.0.0.1/128', '0.0.0.0/0'];
    expect(parseConfig({ crawler: { allowNetworks: ok } }, {}).crawler.allowNetworks).toEqual(ok);
    const problems = problemsOf({ crawler: { allowNetworks: ['127.0.0.1', '127.0.0.0/33', '127.1/8', '0x7f.0.0.1/8', 'fe80::1%eth0/64', 'localhost/8', '::/129'] } });
    expect(problems.map((p) => p.split(':')[0])).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `crawler.allowNetworks[${i}]`));
    expect(problems[0]).toContain('the /prefix length is missing');
    expect(problems[1]).toContain('prefix length must be at most 32');
  });

  it('checks DNS servers', () => {
    const ok = ['127.0.0.1:5353', '127.0.0.53', '::1', '[::1]:53'];
    expect(parseConfig({ crawler: { dnsServers: ok } }, {}).crawler.dnsServers).toEqual(ok);
    expect(problemsOf({ crawler: { dnsServers: ['dns.example', '127.0.0.53:0', '[::1]:99999'] } })).toHaveLength(3);
  });

  it('checks vantages: http(s) proxy and unique ids', () => {
    const problems = problemsOf({
      crawler: { vantages: [{ id: 'nl', proxy: 'http://proxy-nl:3128' }, { id: 'nl', proxy: 'socks5://proxy:1080' }] },
    });
    expect(problems).toEqual([
      'crawler.vantages[1].proxy: expected a URL starting with http:// or https://, got "socks5://proxy:1080"',
      'crawler.vantages[1].id: duplicate id "nl" (also at index 0)',
    ]);
  });

  it('checks cdnAsns are positive integers', () => {
    expect(problemsOf({ tracing: { cdnAsns: [13335, 0, 1.5, '64500'] } })).toEqual([
      'tracing.cdnAsns[1]: must be at least 1, got 0',
      'tracing.cdnAsns[2]: expected a whole number, got 1.5',
      'tracing.cdnAsns[3]: expected a whole number, got "64500"',
    ]);
  });

  it('checks URLs of the right scheme', () => {
    expect(problemsOf({ storage: { databaseUrl: 'mysql://db/x' }, queue: { redisUrl: 'http://r' }, notices: { smtp: { url: 'mail.example' } } })).toEqual([
      'storage.databaseUrl: expected a URL starting with postgres:// or postgresql://, got "mysql://db/x"',
      'queue.redisUrl: expected a URL starting with redis:// or rediss://, got "http://r"',
      'notices.smtp.url: expected a URL starting with smtp:// or smtps://, got "mail.example"',
    ]);
    expect(parseConfig({ notices: { smtp: { url: 'smtps://mail.example:465' } } }, {}).notices.smtp.url).toBe('smtps://mail.example:465');
  });

  it('refuses a check lease shorter than a check', () => {
    expect(problemsOf({ crawler: { timeouts: { total: '2m' } }, queue: { checkLease: '1m' } })).toEqual([
      'queue.checkLease: must be longer than crawler.timeouts.total (2m), or checks still running are dispatched again',
    ]);
  });

  it('refuses a connect timeout longer than the total', () => {
    expect(problemsOf({ crawler: { timeouts: { connect: '1m', total: '30s' } } })).toEqual([
      'crawler.timeouts.connect: must not be longer than crawler.timeouts.total',
    ]);
  });
});

describe('directory.recipients', () => {
  const recipient = (over: Record<string, unknown> = {}) => ({ id: 'hotline-nl', kind: 'hotline', name: 'Hotline NL', countries: ['NL'], channel: webhook, ...over });

  it('accepts webhook and e-mail channels and the "*" fallback', () => {
    const config = parseConfig(
      {
        directory: {
          homeCountry: 'NL',
          recipients: [recipient(), recipient({ id: 'le', kind: 'law_enforcement', countries: ['*'], channel: { email: { to: ['le@police.example'] } } })],
        },
        notices: { smtp: { url: 'smtp://127.0.0.1:2525' } },
      },
      {},
    );
    expect(config.directory.recipients.map((r) => [r.id, r.kind, r.countries])).toEqual([
      ['hotline-nl', 'hotline', ['NL']],
      ['le', 'law_enforcement', ['*']],
    ]);
    expect(config.directory.recipients[0]?.channel).toEqual(webhook);
    expect(config.directory.recipients[1]?.channel).toEqual({ email: { to: ['le@police.example'] } });
  });

  it('reports each problem of each recipient', () => {
    const problems = problemsOf({
      directory: {
        recipients: [
          recipient({ kind: 'ngo', countries: ['nl', 'XX'] }),
          recipient({ channel: { email: { to: ['not-an-address'] } } }),
          recipient({ id: 'two', channel: { ...webhook, email: { to: ['a@b.example'] } } }),
          recipient({ id: 'none', channel: {} }),
        ],
      },
    });
    expect(problems).toEqual([
      'directory.recipients[0].kind: expected one of hotline, law_enforcement, police_partner, task_force, got "ngo"',
      'directory.recipients[0].countries[0]: country codes are uppercase: write NL, got "nl"',
      'directory.recipients[0].countries[1]: expected an ISO 3166-1 alpha-2 country code such as GB or NL, or "*" for the fallback, got "XX"',
      'directory.recipients[1].channel.email.to[0]: expected an e-mail address such as abuse@example.org, got "not-an-address"',
      'directory.recipients[2].channel: expected only one of webhook or email',
      'directory.recipients[3].channel: expected webhook or email',
      'directory.recipients[1].id: duplicate id "hotline-nl" (also at index 0)',
    ]);
  });

  it('never repeats a bad webhook secret or admin token in the message', () => {
    const problems = problemsOf({ auth: { adminToken: 'short-token' }, directory: { recipients: [recipient({ channel: { webhook: { url: 'https://h.example', secret: 'plain-secret-value' } } })] } });
    expect(problems).toEqual([
      'auth.adminToken: must be at least 16 characters (generate one with: openssl rand -hex 32)',
      'directory.recipients[0].channel.webhook.secret: expected a Standard Webhooks secret: "whsec_" followed by base64',
    ]);
  });
});
