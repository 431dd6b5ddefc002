/**
 * Which abuse desks of the hosting provider are told (`directory.hostingProviders.notify`,
 * CONTRACT.md §3): the RDAP abuse contacts of the network that serves the content, as a trace
 * found them (core/tracer.ts `TraceContact`). Pure.
 *
 * The addresses come from the network (RDAP answers), so they are untrusted input: only a plain
 * `local@domain` address is used (no display names, quotes, comments, IP-literal domains or line
 * breaks — nothing that could reach an SMTP header or command as anything but one address),
 * lower-cased, at most {@link MAX_HOSTING_CONTACTS} of them, first found first. A registrar's
 * abuse desk is not told: the registrar does not host the content.
 */

/** What is needed of a trace contact (the stored trace's `contacts`). */
export interface HostingContactInput {
  role?: unknown;
  email?: unknown;
}

/** An RDAP answer listing many desks does not make vigil write to all of them. */
export const MAX_HOSTING_CONTACTS = 3;

const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A plain e-mail address, lower-cased; null when `value` is not one. */
export function plainEmailAddress(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  if (email.length > 254) return null;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at !== email.indexOf('@')) return null;
  const local = email.slice(0, at);
  const labels = email.slice(at + 1).split('.');
  if (local.length > 64 || !LOCAL.test(local)) return null;
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1] as string)) return null;
  return email;
}

/** The abuse e-mail addresses to tell, from a trace's contacts (see the file header). */
export function hostingProviderEmails(contacts: unknown): string[] {
  if (!Array.isArray(contacts)) return [];
  const out: string[] = [];
  for (const c of contacts as unknown[]) {
    if (c === null || typeof c !== 'object') continue;
    const contact = c as HostingContactInput;
    if (contact.role !== 'abuse') continue;
    const email = plainEmailAddress(contact.email);
    if (email !== null && !out.includes(email)) out.push(email);
    if (out.length >= MAX_HOSTING_CONTACTS) break;
  }
  return out;
}
