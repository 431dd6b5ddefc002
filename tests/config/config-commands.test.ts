import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configCheck, configPrint } from '../../config/config-commands.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-config-cmd-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('configCheck', () => {
  it('exits 0 for a valid file', () => {
    const file = write('vigil.yaml', 'http: { port: 9000 }\n');
    expect(configCheck(file, {}, dir)).toEqual({ exitCode: 0, output: `ok: ${file} is valid\n` });
  });

  it('exits 1 and lists every problem', () => {
    const file = write('vigil.yaml', 'http: { port: x }\ncrawler: { foo: 1 }\n');
    const result = configCheck(file, {}, dir);
    expect(result.exitCode).toBe(1);
    expect(result.output.split('\n')).toEqual([
      `invalid configuration in ${file} (2 problems):`,
      '  http.port: expected a whole number, got "x"',
      '  crawler.foo: unknown key',
      '',
    ]);
  });

  it('exits 1 for a missing file, naming it', () => {
    const result = configCheck('missing.yaml', {}, dir);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain(path.join(dir, 'missing.yaml'));
  });

  it('applies the environment as start-up would', () => {
    const file = write('vigil.yaml', '{}\n');
    const result = configCheck(file, { VIGIL_HTTP_PORT: '99999' }, dir);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('http.port: must be at most 65535, got 99999 (from VIGIL_HTTP_PORT)');
  });
});

describe('configPrint', () => {
  it('prints the effective configuration with secrets masked', () => {
    write('vigil.yaml', 'storage: { databaseUrl: "postgres://vigil:FILEPASS42@db/vigil" }\n');
    const result = configPrint({ env: { VIGIL_ADMIN_TOKEN: 'ENVTOKEN-0123456789abcdef', VIGIL_HTTP_PORT: '8181' }, cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.output).not.toContain('FILEPASS42');
    expect(result.output).not.toContain('ENVTOKEN-0123456789abcdef');
    expect(result.output.split('\n')[0]).toBe(`# effective configuration; source: ${path.join(dir, 'vigil.yaml')} (secrets masked)`);
    const printed = YAML.parse(result.output) as { http: { port: number }; auth: { adminToken: string }; storage: { databaseUrl: string }; dataDir: string };
    expect(printed.http.port).toBe(8181);
    expect(printed.auth.adminToken).toBe('***');
    expect(printed.storage.databaseUrl).toBe('postgres://vigil:***@db/vigil');
    expect(printed.dataDir).toBe(path.join(dir, 'data'));
  });

  it('says when only defaults are in effect', () => {
    const result = configPrint({ env: {}, cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.output).toMatch(/^# effective configuration; source: built-in defaults/);
    expect(result.output).toContain('redisUrl: redis://127.0.0.1:6379');
  });

  it('exits 1 with the problems when the configuration is invalid', () => {
    const result = configPrint({ env: { REDIS_URL: 'nope' }, cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('queue.redisUrl: expected a URL starting with redis:// or rediss://, got "nope" (from REDIS_URL)');
  });
});
