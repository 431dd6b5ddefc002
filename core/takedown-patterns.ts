/**
 * Built-in patterns of common "file removed / account suspended" pages on file hosts and image
 * boards, and of bot-challenge pages. Matched against a lower-cased sample of a 2xx text body.
 * Operators add their own through `crawler.takedownPatterns`.
 */
export const BUILTIN_TAKEDOWN_PATTERNS: readonly RegExp[] = [
  /\b(this )?(file|image|video|content|page|post|album|gallery) (has been|was) (removed|deleted|taken down)\b/,
  /\b(file|image|video|content) (is )?no longer available\b/,
  /\b(account|user|site|website|domain) (has been |was |is )?(suspended|terminated|disabled)\b/,
  /\bremoved (due to|for) (a )?(violation|abuse|terms of service|tos)\b/,
  /\bthis (account|site) has been (blocked|banned)\b/,
  /\bcontent (has been )?removed (by|at the request of)\b/,
];

export const BUILTIN_CHALLENGE_PATTERNS: readonly RegExp[] = [
  /\bchecking (if the site connection is secure|your browser before accessing)\b/,
  /\bcf-challenge|cf_chl_|challenge-platform\b/,
  /\bddos-guard\b/,
  /\b(please )?(verify|prove) (that )?you are (a )?human\b/,
  /\bcaptcha\b/,
];

/** Compile operator-supplied patterns (validated by config/), case-insensitive. */
export function compileTakedownPatterns(extra: readonly string[]): RegExp[] {
  return [...BUILTIN_TAKEDOWN_PATTERNS, ...extra.map((p) => new RegExp(p, 'i'))];
}
