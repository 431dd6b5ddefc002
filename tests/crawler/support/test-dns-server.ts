/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for resolver and guard tests.
 * SAFETY: it answers only with loopback addresses — A records 127.0.0.x, AAAA records
 * ::ffff:127.0.0.x (the IPv4-mapped form of the same) — and refuses to start otherwise.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** seconds. @default 60 */
  ttl?: number;
  /** answer with this error code instead of records */
  rcode?: 'SERVFAIL' | 'REFUSED' | 'NXDOMAIN';
  /** never answer (the client times out) */
  silent?: boolean;
}

export interface TestDnsServer {
  /** "127.0.0.1:PORT", the form `createDnsResolver({ servers })` takes */
  server: string;
  /** every question received, in order */
  queries: Array<{ name: string; type: string }>;
  /** change the zone while running */
  zone: Record<string, ZoneEntry>;
  close(): Promise<void>;
}

const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const LOOPBACK_A = /^127\.0\.0\.\d{1,3}$/;
const LOOPBACK_MAPPED_AAAA = /^::ffff:127\.0\.0\.\d{1,3}$/;

function assertLoopbackOnly(zone: Record<string, ZoneEntry>): void {
  for (const [name, entry] of Object.entries(zone)) {
    for (const a of entry.A ?? []) if (!LOOPBACK_A.test(a)) throw new Error(`test DNS: ${name} A ${a} is not 127.0.0.x`);
    for (const a of entry.AAAA ?? []) {
      if (!LOOPBACK_MAPPED_AAAA.test(a)) throw new Error(`test DNS: ${name} AAAA ${a} is not ::ffff:127.0.0.x`);
    }
  }
}

export async function startDnsServer(initialZone: Record<string, ZoneEntry>): Promise<TestDnsServer> {
  assertLoopbackOnly(initialZone);
  const socket = dgram.createSocket('udp4');
  const queries: TestDnsServer['queries'] = [];
  const state: { zone: Record<string, ZoneEntry> } = { zone: initialZone };

  socket.on('message', (message, remote) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase();
    queries.push({ name, type: question.type });
    assertLoopbackOnly(state.zone);
    const entry = state.zone[name];
    if (entry?.silent) return;

    let rcode: number = RCODES.NOERROR;
    const answers: dnsPacket.Answer[] = [];
    if (entry === undefined) rcode = RCODES.NXDOMAIN;
    else if (entry.rcode) rcode = RCODES[entry.rcode];
    else if (question.type === 'A' || question.type === 'AAAA') {
      for (const data of entry[question.type] ?? []) {
        answers.push({ type: question.type, name: question.name, class: 'IN', ttl: entry.ttl ?? 60, data });
      }
    }
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED | rcode,
      questions: [question],
      answers,
    });
    socket.send(response, remote.port, remote.address);
  });

  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    queries,
    get zone() {
      return state.zone;
    },
    set zone(z) {
      assertLoopbackOnly(z);
      state.zone = z;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
