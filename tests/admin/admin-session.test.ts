/** api/admin: cookie signing, CSRF tokens, the post-login redirect, and HTML escaping by default. */
import { describe, expect, it } from 'vitest';
import { safeNext } from '../../api/admin/admin-auth.js';
import { checkCsrf, csrfToken, newSessionId, sameToken, signSession, verifySession } from '../../api/admin/admin-session.js';
import { html, trustedSvg } from '../../api/admin/html.js';

const SECRET = 's'.repeat(43);

describe('session cookie', () => {
  it('verifies its own signature only', () => {
    const id = newSessionId();
    const value = signSession(SECRET, id);
    expect(verifySession(SECRET, value)).toBe(id);
    expect(verifySession('t'.repeat(43), value)).toBeNull();
    expect(verifySession(SECRET, `${newSessionId()}.${value.split('.')[1]}`)).toBeNull();
    expect(verifySession(SECRET, id)).toBeNull();
    expect(verifySession(SECRET, undefined)).toBeNull();
    expect(verifySession(SECRET, `../x.${value.split('.')[1]}`)).toBeNull();
  });

  it('binds CSRF tokens to a session or a login nonce, per purpose', () => {
    const id = newSessionId();
    const token = csrfToken(SECRET, id);
    expect(checkCsrf(SECRET, id, token)).toBe(true);
    expect(checkCsrf(SECRET, newSessionId(), token)).toBe(false);
    expect(checkCsrf(SECRET, id, token, 'login')).toBe(false);
    expect(checkCsrf(SECRET, null, token)).toBe(false);
    expect(checkCsrf(SECRET, id, undefined)).toBe(false);
    expect(sameToken(['x'], 'x')).toBe(false);
  });

  it.each([
    ['/admin/reports/1', '/admin/reports/1'],
    ['/admin?x=1', '/admin?x=1'],
    ['/admin', '/admin'],
    ['/administrator', '/admin'],
    ['//evil.test', '/admin'],
    ['https://evil.test/admin', '/admin'],
    ['/admin/\\evil', '/admin'],
    ['/admin/ x', '/admin'],
    [undefined, '/admin'],
  ])('after login %s goes to %s', (next, to) => {
    expect(safeNext(next)).toBe(to);
  });
});

describe('html', () => {
  it('escapes every value unless it is html itself', () => {
    const url = 'https://x.test/<script>alert("1")</script>';
    expect(html`<code>${url}</code>`.value).toBe('<code>https://x.test/&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;</code>');
    expect(html`<p>${[html`<b>${'<i>'}</b>`, 'x&y', null, undefined, false, 0]}</p>`.value).toBe('<p><b>&lt;i&gt;</b>x&amp;y0</p>');
    expect(html`<a title="${'" onmouseover="x'}">`.value).toBe('<a title="&quot; onmouseover=&quot;x">');
    expect(html`${trustedSvg('<svg></svg>')}`.value).toBe('<svg></svg>');
  });
});
