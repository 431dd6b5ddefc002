/**
 * An SMTP sink on loopback (smtp-server): accepts every message (no TLS, optional any-credential
 * AUTH), parses it with mailparser, and can be told to fail with a given reply code.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { assertLoopbackAddress, listen } from './loopback.js';

export interface SmtpMessage {
  envelope: { mailFrom: string; rcptTo: string[] };
  /** The (first) address of the From header, e.g. `vigil@localhost`. */
  from: string;
  /** The From header as mailparser renders it, e.g. `"vigil" <vigil@localhost>`. */
  fromText: string;
  /** Addresses of the To header. */
  to: string[];
  subject: string;
  text: string;
  html: string | undefined;
  /** Lower-case header name → value (first occurrence), e.g. `headers['x-vigil-notice-id']`. */
  headers: Record<string, string>;
  messageId: string | undefined;
  /** AUTH user, if the client authenticated. */
  user: string | undefined;
  raw: Buffer;
  receivedAt: Date;
}

/** Where a failing sink rejects: at MAIL FROM, at RCPT TO, or after the message data. */
export type SmtpFailStage = 'mail' | 'rcpt' | 'data';

export interface SmtpSink {
  host: string;
  port: number;
  /** `smtp://127.0.0.1:PORT`, for `notices.smtp.url`. */
  url: string;
  /** Messages accepted, in order. */
  readonly messages: SmtpMessage[];
  /** Message transactions rejected by `setFailing`. */
  readonly rejected: number;
  /**
   * Resolves with the messages once at least `n` have arrived.
   * @default timeoutMs 5000
   * @throws Error on timeout (naming how many arrived) or when the sink closes first.
   */
  waitForMessages(n: number, timeoutMs?: number): Promise<SmtpMessage[]>;
  /** Reject later transactions with `code` (e.g. 451, 550) at `stage` (default `data`); null accepts again. */
  setFailing(code: number | null, stage?: SmtpFailStage): void;
  readonly server: SMTPServer;
  close(): Promise<void>;
}

function addressText(a: AddressObject | AddressObject[] | undefined): string[] {
  const list = a === undefined ? [] : Array.isArray(a) ? a : [a];
  return list.flatMap((x) => x.value.map((v) => v.address ?? '')).filter(Boolean);
}

function headerMap(parsed: ParsedMail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    if (key in out) continue;
    const decoded = parsed.headers.get(key);
    out[key] = typeof decoded === 'string' ? decoded : line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
  }
  return out;
}

function smtpError(code: number): Error {
  return Object.assign(new Error(`Synthetic failure ${code} (vigil test world)`), { responseCode: code });
}

/**
 * Starts the sink on a free port.
 * @throws Error if `host` is not loopback.
 */
export async function startSmtpSink(options: { host?: string } = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.1';
  assertLoopbackAddress(host, 'SMTP sink host');
  const messages: SmtpMessage[] = [];
  const events = new EventEmitter();
  let failing: { code: number; stage: SmtpFailStage } | null = null;
  let rejected = 0;
  let closed = false;

  const failAt = (stage: SmtpFailStage): Error | null => {
    if (failing?.stage !== stage) return null;
    rejected += 1;
    return smtpError(failing.code);
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    banner: 'vigil test world SMTP sink',
    size: 25 * 1024 * 1024,
    closeTimeout: 100,
    // No reverse DNS of the client: it would ask the system resolver, off loopback.
    disableReverseLookup: true,
    onAuth(auth, _session, callback) { callback(null, { user: auth.username ?? 'anonymous' }); },
    onMailFrom(_address: SMTPServerAddress, _session: SMTPServerSession, callback) { callback(failAt('mail')); },
    onRcptTo(_address: SMTPServerAddress, _session: SMTPServerSession, callback) { callback(failAt('rcpt')); },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const failure = failAt('data');
        if (failure) { callback(failure); return; }
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then((parsed) => {
          const mailFrom = session.envelope.mailFrom;
          messages.push({
            envelope: { mailFrom: mailFrom ? mailFrom.address : '', rcptTo: session.envelope.rcptTo.map((r) => r.address) },
            from: addressText(parsed.from)[0] ?? '',
            fromText: parsed.from?.text ?? '',
            to: addressText(parsed.to),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: parsed.html === false ? undefined : parsed.html,
            headers: headerMap(parsed),
            messageId: parsed.messageId,
            user: typeof session.user === 'string' ? session.user : undefined,
            raw,
            receivedAt: new Date(),
          });
          // Reply 250 only after the message is recorded, so a client's success means it is visible.
          callback(null);
          events.emit('message');
        }, (err: unknown) => callback(Object.assign(new Error(`unparsable message: ${String(err)}`), { responseCode: 554 })));
      });
    },
  });
  server.on('error', () => { /* client errors (resets) are expected in tests */ });
  const sockets = new Set<net.Socket>();
  server.server.on('connection', (s: net.Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  const port = await listen(server.server, host);

  return {
    host, port,
    url: `smtp://${host}:${port}`,
    messages,
    get rejected() { return rejected; },
    waitForMessages(n, timeoutMs = 5000) {
      if (messages.length >= n) return Promise.resolve(messages);
      if (closed) return Promise.reject(new Error('SMTP sink is closed'));
      return new Promise((resolve, reject) => {
        const onMessage = (): void => { if (messages.length >= n) { cleanup(); resolve(messages); } };
        const onClose = (): void => { cleanup(); reject(new Error(`SMTP sink closed while waiting for ${n} messages (got ${messages.length})`)); };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`expected ${n} SMTP messages within ${timeoutMs}ms, got ${messages.length}`)); }, timeoutMs);
        function cleanup(): void { clearTimeout(timer); events.off('message', onMessage); events.off('close', onClose); }
        events.on('message', onMessage);
        events.once('close', onClose);
      });
    },
    setFailing(code, stage = 'data') { failing = code === null ? null : { code, stage }; },
    server,
    async close() {
      if (closed) return;
      closed = true;
      events.emit('close');
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
