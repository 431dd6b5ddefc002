/**
 * A tiny scripted SMTP client (node:net) for testing the sink without a mail library:
 * greeting, EHLO, optional AUTH PLAIN, MAIL FROM, RCPT TO, DATA, QUIT.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

export class SmtpReplyError extends Error {
  constructor(readonly code: number, readonly reply: string, readonly command: string) {
    super(`SMTP ${command} answered ${reply}`);
  }
}

export interface SmtpDialogueOptions {
  host?: string;
  port: number;
  from: string;
  to: string[];
  /** The message (headers, blank line, body); lines are dot-stuffed and CRLF-terminated here. */
  message: string;
  auth?: { user: string; pass: string };
  /** @default 5000 */
  timeoutMs?: number;
}

/**
 * Sends one message, reply by reply. Resolves with every reply line received.
 * @throws SmtpReplyError when a command gets an unexpected reply code.
 */
export async function sendSmtpMessage(options: SmtpDialogueOptions): Promise<string[]> {
  const socket = net.connect({ host: options.host ?? '127.0.0.1', port: options.port });
  socket.setTimeout(options.timeoutMs ?? 5000, () => socket.destroy(new Error('SMTP dialogue timed out')));
  const lines = createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const transcript: string[] = [];

  /** Reads one (possibly multi-line) reply and checks its code. */
  async function expectReply(command: string, ok: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const next = await lines.next();
      if (next.done) throw new SmtpReplyError(0, '(connection closed)', command);
      transcript.push(next.value);
      if (/^\d{3}[ ]/.test(next.value) || /^\d{3}$/.test(next.value)) {
        const code = Number(next.value.slice(0, 3));
        if (code !== ok) throw new SmtpReplyError(code, next.value, command);
        return;
      }
    }
    throw new SmtpReplyError(0, '(reply too long)', command);
  }
  async function command(line: string, ok: number): Promise<void> {
    socket.write(`${line}\r\n`);
    await expectReply(line.split(' ')[0] ?? line, ok);
  }

  try {
    await expectReply('greeting', 220);
    await command('EHLO world.test', 250);
    if (options.auth) {
      const token = Buffer.from(`\0${options.auth.user}\0${options.auth.pass}`).toString('base64');
      await command(`AUTH PLAIN ${token}`, 235);
    }
    await command(`MAIL FROM:<${options.from}>`, 250);
    for (const rcpt of options.to) await command(`RCPT TO:<${rcpt}>`, 250);
    await command('DATA', 354);
    const body = options.message.replace(/\r?\n/g, '\r\n').split('\r\n').map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
    socket.write(`${body}\r\n.\r\n`);
    await expectReply('end of DATA', 250);
    await command('QUIT', 221);
    return transcript;
  } finally {
    socket.destroy();
  }
}
