/**
 * Fails the whole run loudly when a real part the tests need is missing — never skips.
 * (`npm test` runs tests/run-tests.js first, which tries to bring these up.)
 */
import net from 'node:net';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './support/test-env.js';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    socket.setTimeout(2000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

export default async function setup(): Promise<void> {
  const missing: string[] = [];
  if (!(await reachable(TEST_REDIS_URL, 6379))) missing.push(`Redis at ${TEST_REDIS_URL} (start redis-server, or set VIGIL_TEST_REDIS_URL)`);
  if (!(await reachable(TEST_DATABASE_URL, 5432))) missing.push(`PostgreSQL at ${TEST_DATABASE_URL} (start it, or set VIGIL_TEST_DATABASE_URL)`);
  if (missing.length > 0) {
    throw new Error(`The tests need real services that are not answering:\n  - ${missing.join('\n  - ')}`);
  }
}
