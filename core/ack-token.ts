/**
 * The acknowledgement link in a notice (CONTRACT.md §4 `POST /v1/notices/:id/ack?token=`): the
 * token is an HMAC-SHA256 of the notice id under a server secret, so a link acknowledges its own
 * notice and nothing else, and needs no row of its own. The secret is an argument (vigil keeps
 * one in the database, see store `getOrCreateSecret`). Pure computation.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the ack-link secret in the store. */
export const ACK_SECRET_NAME = 'ack-link';

/** base64url HMAC-SHA256 of `noticeId` under `secret` */
export function ackToken(secret: string, noticeId: string): string {
  return createHmac('sha256', secret).update(`notice-ack:${noticeId}`).digest('base64url');
}

/** Constant-time check of a token from a link. */
export function verifyAckToken(secret: string, noticeId: string, token: string): boolean {
  const expected = Buffer.from(ackToken(secret, noticeId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `<publicUrl>/v1/notices/<id>/ack?token=…` */
export function ackUrl(publicUrl: string, secret: string, noticeId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/notices/${encodeURIComponent(noticeId)}/ack?token=${ackToken(secret, noticeId)}`;
}
