/**
 * A programmable recursive-resolver stand-in on loopback, over UDP and TCP on the same port.
 *
 * It answers like a recursive resolver would: CNAME chains are followed and the whole chain plus
 * the final A/AAAA records come back in one answer section; unknown names get NXDOMAIN with an
 * SOA in the authority section; a known name without the asked type gets NOERROR and no answers
 * (NODATA). Answers may be changed while tests run. Only loopback addresses may be served.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import { assertLoopbackAddress, closeServer, listen, trackSockets } from './loopback.js';

/** What a name resolves to. A name with a CNAME has no other records (as in real DNS). */
export interface DnsRecord {
  /** IPv4 answers; loopback (127.0.0.0/8) only. */
  A?: string[];
  /** IPv6 answers; loopback (::1 or ::ffff:127.x.y.z) only. */
  AAAA?: string[];
  /** Canonical name this name is an alias of. */
  CNAME?: string;
  /** @default 60 */
  ttl?: number;
}

/**
 * `servfail`: answer SERVFAIL; `refused`: answer REFUSED; `timeout`: never answer;
 * `normal`: answer from the records.
 */
export type DnsBehaviour = 'normal' | 'servfail' | 'refused' | 'timeout';

export interface DnsQueryLogEntry {
  /** The name as asked, lower-cased, without the trailing dot. */
  name: string;
  /** Question type, e.g. `A`, `AAAA`, `CNAME`. */
  type: string;
  transport: 'udp' | 'tcp';
  at: Date;
}

export interface DnsServer {
  host: string;
  port: number;
  /** `host:port`, ready for `Resolver#setServers` or `crawler.dnsServers`. */
  address: string;
  /**
   * Replaces the records of `name` (case-insensitive).
   * @throws Error for non-loopback addresses or a CNAME mixed with A/AAAA.
   */
  setRecord(name: string, record: DnsRecord): void;
  /** Forgets `name`: it becomes NXDOMAIN. */
  removeRecord(name: string): void;
  /** Sets how queries for `name` (and chains passing through it) are treated. */
  setBehaviour(name: string, behaviour: DnsBehaviour): void;
  /** Every question received, in order. */
  readonly queries: DnsQueryLogEntry[];
  close(): Promise<void>;
}

export interface DnsServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** Also answer over TCP on the same port. @default true */
  tcp?: boolean;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Longest CNAME chain followed before answering SERVFAIL (also stops loops). */
const MAX_CHAIN = 16;
const DEFAULT_TTL = 60;

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function validate(name: string, record: DnsRecord): void {
  if (record.CNAME !== undefined && (record.A?.length || record.AAAA?.length)) {
    throw new Error(`tests/world dns: ${name} cannot have a CNAME and A/AAAA records at once`);
  }
  for (const a of record.A ?? []) {
    if (!net.isIPv4(a)) throw new Error(`tests/world dns: ${name} A record ${a} is not IPv4`);
    assertLoopbackAddress(a, `A record of ${name}`);
  }
  for (const a of record.AAAA ?? []) {
    if (!net.isIPv6(a)) throw new Error(`tests/world dns: ${name} AAAA record ${a} is not IPv6`);
    assertLoopbackAddress(a, `AAAA record of ${name}`);
  }
}

/**
 * Starts the server on a free port (UDP, and TCP on the same port unless `tcp: false`).
 * @throws Error if `host` is not loopback or no common UDP/TCP port was found.
 */
export async function startDnsServer(options: DnsServerOptions = {}): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  assertLoopbackAddress(host, 'DNS server host');
  const records = new Map<string, DnsRecord>();
  const behaviours = new Map<string, DnsBehaviour>();
  const queries: DnsQueryLogEntry[] = [];

  function soa(name: string): Answer {
    const labels = name.split('.');
    const zone = labels.length > 1 ? labels.slice(-2).join('.') : (labels[0] ?? '');
    return {
      type: 'SOA', name: zone || '.', ttl: DEFAULT_TTL, class: 'IN',
      data: { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: DEFAULT_TTL },
    };
  }

  /** The response to one question, or null to stay silent. */
  function answer(q: Question): { rcode: number; answers: Answer[]; authorities: Answer[] } | null {
    const answers: Answer[] = [];
    // dns-packet's RecordType lacks ANY (type 255), which it decodes as the string 'ANY'.
    const qtype: string = q.type;
    let owner = q.name;
    for (let hop = 0; hop < MAX_CHAIN; hop++) {
      const key = normalise(owner);
      const behaviour = behaviours.get(key) ?? 'normal';
      if (behaviour === 'timeout') return null;
      if (behaviour === 'servfail') return { rcode: RCODE.SERVFAIL, answers: [], authorities: [] };
      if (behaviour === 'refused') return { rcode: RCODE.REFUSED, answers: [], authorities: [] };
      const record = records.get(key);
      if (!record) return { rcode: RCODE.NXDOMAIN, answers, authorities: [soa(key)] };
      const ttl = record.ttl ?? DEFAULT_TTL;
      if (record.CNAME !== undefined) {
        answers.push({ type: 'CNAME', name: owner, ttl, class: 'IN', data: record.CNAME });
        if (qtype === 'CNAME') return { rcode: RCODE.NOERROR, answers, authorities: [] };
        owner = record.CNAME;
        continue;
      }
      if (qtype === 'A' || qtype === 'AAAA' || qtype === 'ANY') {
        for (const type of ['A', 'AAAA'] as const) {
          if (qtype !== 'ANY' && qtype !== type) continue;
          for (const data of record[type] ?? []) answers.push({ type, name: owner, ttl, class: 'IN', data });
        }
      }
      return { rcode: RCODE.NOERROR, answers, authorities: answers.length === 0 ? [soa(key)] : [] };
    }
    return { rcode: RCODE.SERVFAIL, answers: [], authorities: [] };
  }

  /** Builds the reply for a raw query, or null when it should go unanswered. */
  function respond(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    let query: DecodedPacket;
    try { query = dnsPacket.decode(msg); } catch { return null; }
    const q = query.questions?.[0];
    const base: Packet = { type: 'response', id: query.id ?? 0, questions: query.questions ?? [] };
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;
    if (!q) return dnsPacket.encode({ ...base, flags: flags | RCODE.NOTIMP });
    queries.push({ name: normalise(q.name), type: q.type, transport, at: new Date() });
    const result = answer(q);
    if (!result) return null;
    return dnsPacket.encode({ ...base, flags: flags | result.rcode, answers: result.answers, authorities: result.authorities });
  }

  // UDP and TCP on one port: bind UDP to a free port, then TCP to the same; retry on a clash.
  let udp: dgram.Socket | undefined;
  let tcp: net.Server | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 20 && port === 0; attempt++) {
    const u = dgram.createSocket('udp4');
    const p = await new Promise<number>((resolve, reject) => {
      u.once('error', reject);
      u.bind(0, host, () => { u.off('error', reject); resolve(u.address().port); });
    });
    if (options.tcp === false) { udp = u; port = p; break; }
    const t = net.createServer();
    try {
      await listen(t, host, p);
      udp = u; tcp = t; port = p;
    } catch {
      u.close();
    }
  }
  if (!udp || port === 0) throw new Error('tests/world dns: could not bind UDP and TCP on one port');
  const udpSocket = udp;

  let closed = false;
  udpSocket.on('error', () => { /* a vanished client is not the server's problem */ });
  udpSocket.on('message', (msg, rinfo) => {
    const reply = respond(msg, 'udp');
    if (reply && !closed) udpSocket.send(reply, rinfo.port, rinfo.address, () => { /* errors ignored, as above */ });
  });

  const tracker = tcp ? trackSockets(tcp) : undefined;
  tcp?.on('connection', (socket) => {
    // TCP DNS: each message is prefixed by its 16-bit length.
    let buffered = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        const reply = respond(msg, 'tcp');
        if (reply) {
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          socket.write(framed);
        }
      }
    });
  });

  return {
    host,
    port,
    address: `${host}:${port}`,
    setRecord(name, record) {
      validate(name, record);
      records.set(normalise(name), { ...record, A: record.A ? [...record.A] : undefined, AAAA: record.AAAA ? [...record.AAAA] : undefined });
    },
    removeRecord(name) { records.delete(normalise(name)); },
    setBehaviour(name, behaviour) {
      if (behaviour === 'normal') behaviours.delete(normalise(name));
      else behaviours.set(normalise(name), behaviour);
    },
    queries,
    async close() {
      if (closed) return;
      closed = true;
      tracker?.destroyAll();
      await Promise.all([
        new Promise<void>((resolve) => udpSocket.close(() => resolve())),
        tcp ? closeServer(tcp) : Promise.resolve(),
      ]);
    },
  };
}
