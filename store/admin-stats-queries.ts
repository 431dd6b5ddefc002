/**
 * Time to removal (first seen live → removal confirmed) for the operator statistics and the
 * network scorecards: grouped and summarised in SQL (`percentile_cont`, the definition
 * core/removal-stats.ts `percentile` implements), over a window of removal times.
 *
 * The window is read from reports_removed_at_idx, which carries the columns the country, network
 * and week groupings need; open cases per network come from reports_open_hosting_idx.
 */
import type { NetworkScorecard, RemovalStat, RemovalStatsQuery } from '../core/admin-reads.js';
import type { SqlClient } from './sql-client.js';

const SECONDS = 'EXTRACT(EPOCH FROM (r.removed_at - r.first_seen_live_at))::float8';
const PERCENTILES = `percentile_cont(0.5) WITHIN GROUP (ORDER BY ${SECONDS}) AS median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY ${SECONDS}) AS p90`;
const WINDOW = 'r.removed_at >= $1 AND r.removed_at < $2 AND r.first_seen_live_at IS NOT NULL';

const BY_COUNTRY = `SELECT r.hosting_country AS key, NULL::text AS label, count(*) AS n, ${PERCENTILES}
  FROM reports r WHERE ${WINDOW}
  GROUP BY r.hosting_country ORDER BY n DESC, key NULLS LAST LIMIT $3`;

// The network's name is looked up for the page's groups only (reports_hosting_asn_idx).
const BY_ASN = `SELECT g.key, (SELECT o.hosting_org FROM reports o
      WHERE o.hosting_asn = g.asn AND o.hosting_org IS NOT NULL ORDER BY o.created_at DESC LIMIT 1) AS label,
    g.n, g.median, g.p90
  FROM (SELECT r.hosting_asn AS asn, r.hosting_asn::text AS key, count(*) AS n, ${PERCENTILES}
        FROM reports r WHERE ${WINDOW}
        GROUP BY r.hosting_asn ORDER BY n DESC, r.hosting_asn NULLS LAST LIMIT $3) g
  ORDER BY g.n DESC, g.asn NULLS LAST`;

const BY_WEEK = `SELECT * FROM (
    SELECT to_char(date_trunc('week', r.removed_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS key, NULL::text AS label,
           count(*) AS n, ${PERCENTILES}
    FROM reports r WHERE ${WINDOW}
    GROUP BY 1 ORDER BY 1 DESC LIMIT $3) w
  ORDER BY key`;

// Per recipient: from the first alert sent to that recipient about the report (before its
// removal) to the removal. Force webhooks and removal confirmations are not alerts.
const BY_RECIPIENT = `WITH alerted AS (
    SELECT n.recipient_id, r.id, EXTRACT(EPOCH FROM (r.removed_at - min(n.sent_at)))::float8 AS secs
    FROM reports r JOIN notices n ON n.report_id = r.id
    WHERE r.removed_at >= $1 AND r.removed_at < $2
      AND n.target = 'recipient' AND n.kind IN ('initial', 'realert', 'escalation', 'taskforce_alert')
      AND n.sent_at IS NOT NULL AND n.sent_at <= r.removed_at
    GROUP BY n.recipient_id, r.id, r.removed_at)
  SELECT recipient_id AS key, NULL::text AS label, count(*) AS n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY secs) AS p90
  FROM alerted GROUP BY recipient_id ORDER BY n DESC, key LIMIT $3`;

const QUERIES = { country: BY_COUNTRY, asn: BY_ASN, week: BY_WEEK, recipient: BY_RECIPIENT } as const;

interface StatRow {
  key: string | null;
  label: string | null;
  n: number;
  median: number;
  p90: number;
}

export async function removalStats(db: SqlClient, query: RemovalStatsQuery): Promise<RemovalStat[]> {
  const { rows } = await db.query<StatRow>(QUERIES[query.by], [query.since, query.until, query.limit ?? 20]);
  return rows.map((r) => ({ key: r.key, label: r.label, count: Number(r.n), medianSeconds: Number(r.median), p90Seconds: Number(r.p90) }));
}

const SCORECARDS = `WITH open AS (
    SELECT r.hosting_asn AS asn, count(*) AS open, min(r.first_seen_live_at) AS oldest
    FROM reports r WHERE r.status IN ('live', 'notified') AND r.hosting_asn IS NOT NULL
    GROUP BY r.hosting_asn),
  removed AS (
    SELECT r.hosting_asn AS asn, count(*) AS removed, ${PERCENTILES}
    FROM reports r WHERE ${WINDOW} AND r.hosting_asn IS NOT NULL
    GROUP BY r.hosting_asn),
  page AS (
    SELECT COALESCE(o.asn, m.asn) AS asn, COALESCE(o.open, 0) AS open, o.oldest, COALESCE(m.removed, 0) AS removed,
           m.median, m.p90, count(*) OVER () AS total
    FROM open o FULL JOIN removed m ON m.asn = o.asn
    ORDER BY 2 DESC, 4 DESC, 1
    LIMIT $3 OFFSET $4)
  SELECT p.*, (SELECT x.hosting_org FROM reports x
      WHERE x.hosting_asn = p.asn AND x.hosting_org IS NOT NULL ORDER BY x.created_at DESC LIMIT 1) AS org
  FROM page p ORDER BY p.open DESC, p.removed DESC, p.asn`;

interface ScorecardRow {
  asn: number;
  open: number;
  oldest: Date | null;
  removed: number;
  median: number | null;
  p90: number | null;
  total: number;
  org: string | null;
}

export async function networkScorecards(db: SqlClient, query: { since: Date; until: Date; limit: number; offset: number }): Promise<{ rows: NetworkScorecard[]; total: number }> {
  const { rows } = await db.query<ScorecardRow>(SCORECARDS, [query.since, query.until, query.limit, query.offset]);
  return {
    total: Number(rows[0]?.total ?? 0),
    rows: rows.map((r) => ({
      asn: Number(r.asn), org: r.org, open: Number(r.open), oldestOpenSince: r.oldest, removed: Number(r.removed),
      medianSeconds: r.median === null ? null : Number(r.median), p90Seconds: r.p90 === null ? null : Number(r.p90),
    })),
  };
}
