/**
 * Loopback-only guards and socket bookkeeping shared by the simulated internet.
 *
 * Everything in tests/world listens on and answers with loopback addresses only; these checks make
 * a mistake (a public or private address slipping into a fixture) fail loudly instead of leaking
 * traffic off the machine.
 */
import type net from 'node:net';
import ipaddr from 'ipaddr.js';

/** The IPv4-mapped form of an address, unwrapped (::ffff:127.0.0.2 → 127.0.0.2). */
function unmap(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return unmap(ipaddr.parse(address)).range() === 'loopback';
}

/**
 * Throws unless `address` is a loopback address.
 * @throws Error naming `what` when the address is not loopback.
 */
export function assertLoopbackAddress(address: string, what = 'address'): void {
  if (!isLoopbackAddress(address)) {
    throw new Error(`tests/world: ${what} must be a loopback address (127.0.0.0/8 or ::1), got ${JSON.stringify(address)}`);
  }
}

/**
 * Throws unless `cidr` lies entirely inside loopback space (127.0.0.0/8, ::1/128 or
 * ::ffff:127.0.0.0/104).
 * @throws Error when the network reaches outside loopback.
 */
export function assertLoopbackNetwork(cidr: string, what = 'network'): void {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  const ok = addr.kind() === 'ipv4'
    ? len >= 8 && addr.range() === 'loopback'
    : (len === 128 && addr.toNormalizedString() === '0:0:0:0:0:0:0:1') ||
      ((addr as ipaddr.IPv6).isIPv4MappedAddress() && len >= 104 && isLoopbackAddress(addr.toString()));
  if (!ok) throw new Error(`tests/world: ${what} must be inside loopback space, got ${JSON.stringify(cidr)}`);
}

/**
 * Whether `url` stays on this machine: an absolute http(s) URL whose host is a loopback literal,
 * `localhost` or a `.test` name (served by the world's DNS), or a path (`/x`, not `//x`).
 */
export function isLoopbackUrl(url: string): boolean {
  if (url.startsWith('/') && !url.startsWith('//')) return true;
  let parsed: URL;
  try { parsed = new URL(url); } catch { return false; }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return isLoopbackAddress(host) || host === 'localhost' || host.endsWith('.test');
}

/** Live sockets of a server, so close() can destroy idle keep-alive connections too. */
export interface SocketTracker {
  /** Sockets accepted so far. */
  readonly total: number;
  /** Sockets currently open. */
  readonly open: number;
  destroyAll(): void;
}

/** Starts tracking every connection `server` accepts (plain and TLS servers alike). */
export function trackSockets(server: net.Server, event: 'connection' | 'secureConnection' = 'connection'): SocketTracker {
  const sockets = new Set<net.Socket>();
  let total = 0;
  server.on(event, (socket: net.Socket) => {
    total += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    get total() { return total; },
    get open() { return sockets.size; },
    destroyAll() { for (const s of sockets) s.destroy(); sockets.clear(); },
  };
}

/** Listens on `host:port` (0 = any free port) and resolves with the bound port. */
export function listen(server: net.Server, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { reject(err); };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Closes a server (not waiting for anything beyond its own close callback). */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) { resolve(); return; }
    server.close(() => resolve());
  });
}

/** A promise that resolves after `ms`, cancelled (resolved early) by `signal`. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) { resolve(); return; }
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}
