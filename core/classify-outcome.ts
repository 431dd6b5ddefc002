/**
 * The one function that turns a raw fetch result into a check outcome (CONTRACT.md §4;
 * DESIGN.md house style 4). Nowhere else decides "is the content still up?".
 *
 * Order: fetch errors and status codes first, then challenge and takedown pages, then — when
 * the caller passes what it knows of the reported object — content identity
 * (core/content-identity.ts: media metadata or digests, the page's media references).
 *
 * Bias: a wrong `gone` ends monitoring of live abuse content, so anything ambiguous is
 * `inconclusive` (counts neither way), never `gone`.
 */
import { decideIdentity, type IdentityContext } from './content-identity.js';
import type { CheckOutcome } from './report-status.js';
import type { FetchResult } from './fetcher.js';

export type { IdentityContext } from './content-identity.js';

export interface Classification {
  outcome: CheckOutcome;
  /** stable reason code, e.g. `http_404`, `dns_nxdomain`, `takedown_page` */
  reason: string;
}

export interface ClassifyRules {
  /** patterns that mark a 2xx text page as "content removed" (built-in list plus config) */
  takedownPatterns: readonly RegExp[];
  /** patterns of challenge / bot-check pages: inconclusive */
  challengePatterns: readonly RegExp[];
}

const GONE_STATUSES = new Set([404, 410, 451]);
const INCONCLUSIVE_STATUSES = new Set([401, 403, 407, 408, 429]);

/**
 * Decide the check outcome of one fetch.
 *
 * @param identity what is known of the reported object (first-seen metadata, item hashes, the
 *   hash list, the page's first-seen media references). Without it a 2xx that is neither a
 *   takedown nor a challenge page is `live` on its status alone.
 */
export function classifyOutcome(result: FetchResult, rules: ClassifyRules, identity?: IdentityContext): Classification {
  if (result.kind === 'error') {
    switch (result.error) {
      case 'blocked_address':
      case 'blocked_scheme':
        return { outcome: 'refused', reason: result.error };
      case 'dns_nxdomain':
      case 'dns_nodata':
      case 'connection_refused':
        return { outcome: 'gone', reason: result.error };
      default:
        return { outcome: 'inconclusive', reason: result.error };
    }
  }
  const { status } = result;
  if (GONE_STATUSES.has(status)) return { outcome: 'gone', reason: `http_${status}` };
  if (status >= 500 || INCONCLUSIVE_STATUSES.has(status)) return { outcome: 'inconclusive', reason: `http_${status}` };
  if (status >= 300 && status < 400) return { outcome: 'inconclusive', reason: `http_${status}_unfollowed` };
  if (status >= 400) return { outcome: 'inconclusive', reason: `http_${status}` };
  if (status < 200) return { outcome: 'inconclusive', reason: `http_${status}` };

  const text = result.textSample;
  if (text !== null) {
    if (rules.challengePatterns.some((p) => p.test(text))) return { outcome: 'inconclusive', reason: 'challenge_page' };
    if (rules.takedownPatterns.some((p) => p.test(text))) return { outcome: 'gone', reason: 'takedown_page' };
  }
  if (identity !== undefined) return decideIdentity(result, identity);
  return { outcome: 'live', reason: `http_${status}` };
}
