import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/config-error.js';
import { loadConfig, type LoadConfigOptions } from '../../config/load-config.js';
import { isVigilError, type VigilError } from '../../core/errors.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-config-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Write `text` to `name` inside the temp dir (creating folders) and return its absolute path. */
function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function errorOf(options: LoadConfigOptions): VigilError {
  try {
    loadConfig(options);
  } catch (err) {
    if (isVigilError(err)) return err;
    throw err;
  }
  throw new Error('expected loadConfig to fail');
}

describe('which file is read', () => {
  it('--config wins over VIGIL_CONFIG and ./vigil.yaml', () => {
    write('vigil.yaml', 'queue: { prefix: local }\n');
    write('env.yaml', 'queue: { prefix: from-env }\n');
    const named = write('named.yaml', 'queue: { prefix: named }\n');
    const loaded = loadConfig({ file: 'named.yaml', env: { VIGIL_CONFIG: 'env.yaml' }, cwd: dir });
    expect(loaded.source).toBe(named);
    expect(loaded.config.queue.prefix).toBe('named');
  });

  it('VIGIL_CONFIG wins over ./vigil.yaml', () => {
    write('vigil.yaml', 'queue: { prefix: local }\n');
    const fromEnv = write('conf/env.yaml', 'queue: { prefix: from-env }\n');
    const loaded = loadConfig({ env: { VIGIL_CONFIG: fromEnv }, cwd: dir });
    expect(loaded.source).toBe(fromEnv);
    expect(loaded.config.queue.prefix).toBe('from-env');
  });

  it('./vigil.yaml is read when nothing is named', () => {
    const local = write('vigil.yaml', 'queue: { prefix: local }\n');
    const loaded = loadConfig({ env: {}, cwd: dir });
    expect(loaded.source).toBe(local);
    expect(loaded.config.queue.prefix).toBe('local');
  });

  it('without any file, the defaults', () => {
    const loaded = loadConfig({ env: {}, cwd: dir });
    expect(loaded.source).toBeNull();
    expect(loaded.config.queue.prefix).toBe('vigil');
    expect(loaded.config.dataDir).toBe(path.join(dir, 'data'));
  });

  it('an empty file means the defaults', () => {
    write('vigil.yaml', '# nothing set yet\n');
    expect(loadConfig({ env: {}, cwd: dir }).config.http.port).toBe(8080);
  });

  it('a named file that does not exist is CONFIG_FILE_MISSING, naming the path', () => {
    const viaFlag = errorOf({ file: 'nope.yaml', env: {}, cwd: dir });
    expect(viaFlag.code).toBe('CONFIG_FILE_MISSING');
    expect(viaFlag.detail).toContain(path.join(dir, 'nope.yaml'));
    expect(viaFlag.detail).toContain('--config');
    const viaEnv = errorOf({ env: { VIGIL_CONFIG: path.join(dir, 'gone.yaml') }, cwd: dir });
    expect(viaEnv.code).toBe('CONFIG_FILE_MISSING');
    expect(viaEnv.detail).toContain(path.join(dir, 'gone.yaml'));
    expect(viaEnv.detail).toContain('VIGIL_CONFIG');
  });
});

describe('YAML and validation errors', () => {
  it('a YAML syntax error is CONFIG_INVALID with line and column', () => {
    const file = write('vigil.yaml', 'http:\n  port: 8080\ncrawler: { timeouts: [1, 2\n');
    const err = errorOf({ file, env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.detail).toContain(file);
    expect(err.detail).toMatch(/line \d+, column \d+: /);
  });

  it('a duplicate key is an error, not a silent override', () => {
    const file = write('vigil.yaml', 'http:\n  port: 8080\n  port: 9090\n');
    const err = errorOf({ file, env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.detail).toMatch(/line 3, column 3: .*unique/i);
  });

  it('lists every problem with its key path', () => {
    const file = write('vigil.yaml', 'crawler:\n  foo: 1\n  timeouts: { total: fast }\nhttp: { port: -1 }\n');
    const err = errorOf({ file, env: {}, cwd: dir });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'http.port: must be at least 0, got -1',
      'crawler.timeouts.total: expected a duration such as 500ms, 90s, 15m, 24h or 7d, got "fast"',
      'crawler.foo: unknown key',
    ]);
    expect(err.detail.split('\n')[0]).toBe(`invalid configuration in ${file} (3 problems):`);
  });
});

describe('environment overrides', () => {
  const env = {
    DATABASE_URL: 'postgres://env-db/vigil',
    REDIS_URL: 'redis://env-redis:6380',
    VIGIL_DATA_DIR: 'env-data',
    VIGIL_HTTP_PORT: '9091',
    VIGIL_ADMIN_TOKEN: 'env-admin-token-0123456789',
  };

  it('win over the file', () => {
    const file = write(
      'vigil.yaml',
      [
        'dataDir: file-data',
        'http: { port: 8081 }',
        'auth: { adminToken: file-admin-token-0123456789 }',
        'storage: { databaseUrl: "postgres://file-db/vigil" }',
        'queue: { redisUrl: "redis://file-redis:6379" }',
      ].join('\n'),
    );
    const { config } = loadConfig({ file, env, cwd: dir });
    expect(config.storage.databaseUrl).toBe('postgres://env-db/vigil');
    expect(config.queue.redisUrl).toBe('redis://env-redis:6380');
    expect(config.dataDir).toBe(path.join(dir, 'env-data'));
    expect(config.http.port).toBe(9091);
    expect(config.http.publicUrl).toBe('http://127.0.0.1:9091');
    expect(config.auth.adminToken).toBe('env-admin-token-0123456789');
  });

  it('apply without a file', () => {
    const { config } = loadConfig({ env, cwd: dir });
    expect(config.http.port).toBe(9091);
    expect(config.storage.databaseUrl).toBe('postgres://env-db/vigil');
  });

  it('an empty variable counts as unset', () => {
    const { config } = loadConfig({ env: { DATABASE_URL: '', VIGIL_HTTP_PORT: '' }, cwd: dir });
    expect(config.storage.databaseUrl).toBeNull();
    expect(config.http.port).toBe(8080);
  });

  it('a bad value names the variable it came from', () => {
    const err = errorOf({ env: { VIGIL_HTTP_PORT: 'eighty', REDIS_URL: 'localhost:6379' }, cwd: dir }) as ConfigError;
    expect(err.problems).toEqual([
      'http.port: expected a whole number, got "eighty" (from VIGIL_HTTP_PORT)',
      'queue.redisUrl: expected a URL starting with redis:// or rediss://, got "localhost:6379" (from REDIS_URL)',
    ]);
  });
});

describe('referenced files', () => {
  it('are resolved against the config file directory and must exist', () => {
    write('conf/geo/country.mmdb', 'x');
    write('conf/rdap/dns.json', '{}');
    write('conf/hashes.txt', '');
    const file = write(
      'conf/vigil.yaml',
      'tracing: { countryDb: [geo/country.mmdb], rdapBootstrap: rdap }\nhashList: { files: [hashes.txt] }\ncrawler: { mediaPolicy: hash }\n',
    );
    const { config } = loadConfig({ file, env: {}, cwd: dir });
    expect(config.tracing.countryDb).toEqual([path.join(dir, 'conf/geo/country.mmdb')]);
    expect(config.tracing.rdapBootstrap).toBe(path.join(dir, 'conf/rdap'));
    expect(config.hashList.files).toEqual([path.join(dir, 'conf/hashes.txt')]);
  });

  it('each missing one is reported with its key path', () => {
    write('conf/geo/country.mmdb', 'x');
    write('conf/some-dir/.keep', '');
    const file = write(
      'conf/vigil.yaml',
      'tracing: { countryDb: [geo/country.mmdb, geo/missing.mmdb], asnDb: [asn.mmdb], rdapBootstrap: nope.json }\n' +
        'hashList: { files: [some-dir] }\ncrawler: { mediaPolicy: hash }\n',
    );
    const err = errorOf({ file, env: {}, cwd: dir }) as ConfigError;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.problems).toEqual([
      `tracing.countryDb[1]: file not found: ${path.join(dir, 'conf/geo/missing.mmdb')}`,
      `tracing.asnDb[0]: file not found: ${path.join(dir, 'conf/asn.mmdb')}`,
      `tracing.rdapBootstrap: file not found: ${path.join(dir, 'conf/nope.json')}`,
      `hashList.files[0]: expected a file, found a directory: ${path.join(dir, 'conf/some-dir')}`,
    ]);
  });
});

describe('the result', () => {
  it('has an absolute dataDir, relative to cwd', () => {
    const file = write('conf/vigil.yaml', 'dataDir: ./state\n');
    expect(loadConfig({ file, env: {}, cwd: dir }).config.dataDir).toBe(path.join(dir, 'state'));
    const absolute = path.join(dir, 'abs');
    expect(loadConfig({ env: { VIGIL_DATA_DIR: absolute }, cwd: dir }).config.dataDir).toBe(absolute);
  });

  it('is deeply frozen', () => {
    const file = write('vigil.yaml', 'crawler: { vantages: [{ id: nl, proxy: "http://proxy:3128" }] }\n');
    const { config } = loadConfig({ file, env: {}, cwd: dir });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.crawler.timeouts)).toBe(true);
    expect(Object.isFrozen(config.crawler.vantages)).toBe(true);
    expect(Object.isFrozen(config.crawler.vantages[0])).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.tracing.cdnAsns as number[]).push(1)).toThrow(TypeError);
    expect(config.http.port).toBe(8080);
  });
});
