/**
 * Small servers for crawler tests. SAFETY: they bind loopback addresses only (127.0.0.x, ::1),
 * on port 0, and refuse anything else. Content served is synthetic.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

const LOOPBACK = /^(127\.0\.0\.\d{1,3}|::1)$/;

function assertLoopback(host: string): void {
  if (!LOOPBACK.test(host)) throw new Error(`test servers bind loopback only, not ${host}`);
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export interface TestHttpServer {
  host: string;
  port: number;
  /** `http://host:port` + path */
  url(path?: string): string;
  /** TCP connections accepted so far */
  connections: number;
  /** requests received so far, by path */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on `host`; `handler` answers each request. */
export async function startHttpServer(host: string, handler: http.RequestListener): Promise<TestHttpServer> {
  assertLoopback(host);
  const server = http.createServer((req, res) => {
    result.requests.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', () => {
    result.connections++;
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const result: TestHttpServer = {
    host,
    port,
    url: (path = '/') => `http://${urlHost(host)}:${port}${path}`,
    connections: 0,
    requests: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return result;
}

export interface TestTcpServer {
  host: string;
  port: number;
  connections: number;
  /** resolves with the next accepted socket */
  nextConnection(): Promise<net.Socket>;
  close(): Promise<void>;
}

/**
 * A raw TCP server. With no `onSocket`, it is a CANARY: it only counts connections (and closes
 * them), so a test can assert that nothing reached an address the guard must refuse.
 */
export async function startTcpServer(host: string, onSocket?: (socket: net.Socket) => void): Promise<TestTcpServer> {
  assertLoopback(host);
  const sockets = new Set<net.Socket>();
  const waiters: Array<(s: net.Socket) => void> = [];
  const server = net.createServer((socket) => {
    result.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    waiters.shift()?.(socket);
    if (onSocket) onSocket(socket);
    else socket.destroy();
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const result: TestTcpServer = {
    host,
    port,
    connections: 0,
    nextConnection: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return result;
}

/**
 * A TLS server without a certificate: it records the SNI name the client sent, then fails the
 * handshake. Enough to prove SNI is the host name and that TLS failures map to `tls`.
 */
export async function startSniRecorder(host: string): Promise<{ port: number; servernames: string[]; close(): Promise<void> }> {
  assertLoopback(host);
  const servernames: string[] = [];
  const server = tls.createServer({
    SNICallback: (servername, cb) => {
      servernames.push(servername);
      cb(new Error('no certificate in this test server'));
    },
  });
  server.on('tlsClientError', () => {});
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return { port, servernames, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPort(host: string): Promise<number> {
  assertLoopback(host);
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
