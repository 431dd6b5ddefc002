/**
 * A UDP relay in front of a loopback DNS server that delays every answer, to measure traces
 * over a "far away" resolver (bench/tracing-bench.ts). Loopback only, on both sides.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';

export interface LatencyDnsRelay {
  /** `127.0.0.1:PORT`, for `createDnsResolver({ servers })` */
  address: string;
  /** answers relayed so far */
  readonly relayed: number;
  close(): Promise<void>;
}

/**
 * @param upstream `127.0.0.1:PORT` of the real server
 * @param latencyMs added before each answer is passed back
 * @throws Error when upstream is not on 127.0.0.0/8
 */
export async function startLatencyDnsRelay(upstream: string, latencyMs: number): Promise<LatencyDnsRelay> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  if (!/^127\.\d+\.\d+\.\d+$/.test(upHost)) throw new Error(`latency relay: upstream must be loopback, got ${upstream}`);
  const front = dgram.createSocket('udp4');
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let relayed = 0;
  let closed = false;
  // One upstream socket per client query, so answers find their way back without parsing ids.
  front.on('message', (msg, client) => {
    const back = dgram.createSocket('udp4');
    back.on('error', () => back.close());
    back.once('message', (reply) => {
      back.close();
      const t = setTimeout(() => {
        timers.delete(t);
        if (closed) return;
        relayed += 1;
        front.send(reply, client.port, client.address);
      }, latencyMs);
      timers.add(t);
    });
    back.send(msg, Number(upPort), upHost);
    // A query the upstream never answers must not leak the socket.
    setTimeout(() => { try { back.close(); } catch { /* already closed */ } }, 10_000).unref();
  });
  front.bind(0, '127.0.0.1');
  await once(front, 'listening');
  return {
    address: `127.0.0.1:${front.address().port}`,
    get relayed() { return relayed; },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}
