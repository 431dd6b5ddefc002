import net from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpReplyError, sendSmtpMessage } from './smtp-dialogue.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

let sink: SmtpSink;
beforeAll(async () => { sink = await startSmtpSink(); });
afterAll(async () => { await sink.close(); });

function message(id: string, subject = 'Notice'): string {
  return [
    'From: vigil <vigil@localhost>',
    'To: Hotline NL <reports@hotline-nl.example.test>',
    `Subject: ${subject}`,
    `Message-ID: <${id}@vigil.test>`,
    `X-Vigil-Notice-Id: ${id}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Reported URL: http://host-2.fleet.test/page.html',
    '.a line starting with a dot',
    '',
  ].join('\n');
}

describe('startSmtpSink', () => {
  it('has an smtp:// url on loopback', () => {
    expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);
  });

  it('accepts and parses a message', async () => {
    await sendSmtpMessage({ port: sink.port, from: 'vigil@localhost', to: ['reports@hotline-nl.example.test'], message: message('n-1') });
    const [m] = await sink.waitForMessages(1, 2000);
    expect(m).toMatchObject({
      envelope: { mailFrom: 'vigil@localhost', rcptTo: ['reports@hotline-nl.example.test'] },
      from: 'vigil@localhost',
      fromText: '"vigil" <vigil@localhost>',
      to: ['reports@hotline-nl.example.test'],
      subject: 'Notice',
      messageId: '<n-1@vigil.test>',
    });
    expect(m?.headers['x-vigil-notice-id']).toBe('n-1');
    expect(m?.text).toContain('http://host-2.fleet.test/page.html');
    expect(m?.text).toContain('\n.a line starting with a dot');
  });

  it('waitForMessages waits for messages sent later (event-based) and times out with a count', async () => {
    const before = sink.messages.length;
    const waiting = sink.waitForMessages(before + 2, 5000);
    await sendSmtpMessage({ port: sink.port, from: 'vigil@localhost', to: ['a@example.test', 'b@example.test'], message: message('n-2') });
    await sendSmtpMessage({ port: sink.port, from: 'vigil@localhost', to: ['a@example.test'], message: message('n-3'), auth: { user: 'relay', pass: 'secret' } });
    const all = await waiting;
    expect(all.slice(before).map((m) => m.headers['x-vigil-notice-id'])).toEqual(['n-2', 'n-3']);
    expect(all[before]?.envelope.rcptTo).toEqual(['a@example.test', 'b@example.test']);
    expect(all[before + 1]?.user).toBe('relay');
    await expect(sink.waitForMessages(sink.messages.length + 1, 50)).rejects.toThrow(/expected \d+ SMTP messages within 50ms, got \d+/);
  });

  it('setFailing rejects with the given code at the given stage, then recovers', async () => {
    const before = sink.messages.length;
    sink.setFailing(451);
    await expect(sendSmtpMessage({ port: sink.port, from: 'vigil@localhost', to: ['a@example.test'], message: message('n-4') }))
      .rejects.toMatchObject({ code: 451, command: 'end of DATA' });
    sink.setFailing(550, 'rcpt');
    const err = await sendSmtpMessage({ port: sink.port, from: 'vigil@localhost', to: ['a@example.test'], message: message('n-5') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmtpReplyError);
    expect(err).toMatchObject({ code: 550, command: 'RCPT' });
    expect(sink.rejected).toBe(2);
    expect(sink.messages.length).toBe(before);
    sink.setFailing(null);
    await sendSmtpMessage({ port: sink.port, from: 'vigil@localhost', to: ['a@example.test'], message: message('n-6') });
    expect(sink.messages.at(-1)?.headers['x-vigil-notice-id']).toBe('n-6');
  });

  it('close() ends idle client connections and rejects pending waits', async () => {
    const own = await startSmtpSink();
    const client = net.connect({ host: '127.0.0.1', port: own.port });
    await once(client, 'data'); // the 220 greeting
    const pending = own.waitForMessages(1, 10_000).catch((err: unknown) => err);
    const closedClient = once(client, 'close');
    const t0 = Date.now();
    await own.close();
    expect(await pending).toMatchObject({ message: expect.stringMatching(/closed/) });
    await closedClient;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(own.server.server.listening).toBe(false);
  });
});
