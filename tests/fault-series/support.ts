/**
 * What the randomized fault series (`npm run test:faults`) needs beyond tests/faults/support.ts:
 * a seeded random source, a TCP gate in front of a sink (webhook or SMTP) that can be taken down
 * (the port refuses connections) and brought back on the same port, a private redis-server that
 * can be killed with SIGKILL and started again on the same port, and a counter of things under way.
 * (The private PostgreSQL server is in private-postgres.ts, the routes in fault-route.ts, the
 * receivers' view in sink-events.ts.)
 *
 * Loopback only; every fault hits only servers this suite started itself.
 */
import net from 'node:net';
import { startTestRedis, type TestRedis } from '../queue/support.js';
import { freePort } from '../support/daemon-process.js';

export { seededRandom } from '../support/seeded-random.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP forwarder 127.0.0.1:port → 127.0.0.1:target that can be switched off (refusing; open
 * connections are cut) and on. Protocol-blind: it fronts the webhook sink and the SMTP sink alike.
 */
export interface Gate {
  port: number;
  readonly up: boolean;
  down(): Promise<void>;
  bringUp(): Promise<void>;
  close(): Promise<void>;
}

export async function startGate(targetPort: number): Promise<Gate> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  const listen = async (): Promise<void> => {
    const s = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
      sockets.add(client);
      sockets.add(upstream);
      const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = null;
    if (!s) return;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    await closed;
  };
  await listen();
  return {
    port,
    get up() { return server !== null; },
    down: stop,
    async bringUp() {
      if (server) return;
      // the port was just released: retry briefly if the kernel still holds it
      for (let i = 0; ; i++) {
        try { await listen(); return; } catch (err) { if (i >= 20) throw err; await sleep(50); }
      }
    },
    close: stop,
  };
}

/** A private redis-server on a fixed loopback port that can be SIGKILLed and started again (empty). */
export interface RestartableRedis {
  port: number;
  url: string;
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const port = await freePort();
  let current: TestRedis = await startTestRedis([], port);
  return {
    port,
    url: current.url,
    async restart(downMs) {
      const child = current.process;
      const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      child.kill('SIGKILL');
      await exited;
      await sleep(downMs);
      for (let i = 0; ; i++) {
        try { current = await startTestRedis([], port); return; } catch (err) { if (i >= 20) throw err; await sleep(100); }
      }
    },
    stop: () => current.stop(),
  };
}

/** How many of something are under way (starts, outages), with a wait for "none". */
export class Counter {
  #n = 0;
  #waiters: (() => void)[] = [];
  get n(): number { return this.#n; }
  inc(): void { this.#n++; }
  dec(): void {
    this.#n = Math.max(0, this.#n - 1);
    if (this.#n === 0) this.#waiters.splice(0).forEach((w) => w());
  }
  /** Resolves when none is under way (at once if none is). Re-check `n` after it: another may have begun. */
  whenZero(): Promise<void> {
    return this.#n === 0 ? Promise.resolve() : new Promise((r) => this.#waiters.push(r));
  }
}
