-- The operator surface (issue 8): indexes for the /admin aggregations, and admin sessions.
--
-- The pages read aggregates over up to millions of reports. Each index below serves one page
-- query and is partial where it can be, so reports outside its predicate (most of them: pending,
-- unreachable, rejected, long-removed…) cost it nothing.

-- Removal statistics and "recent removals": a range of removed_at, with what the percentiles and
-- the groupings read, so the window is read from the index alone.
CREATE INDEX reports_removed_at_idx ON reports (removed_at)
  INCLUDE (first_seen_live_at, hosting_country, hosting_asn)
  WHERE removed_at IS NOT NULL;

-- Open cases (live or notified) per hosting country and per network, and the oldest of them.
CREATE INDEX reports_open_hosting_idx ON reports (hosting_country, hosting_asn)
  INCLUDE (status, first_seen_live_at)
  WHERE status IN ('live', 'notified');

-- CDN-fronted open cases on the overview, newest first.
CREATE INDEX reports_open_cdn_idx ON reports (created_at)
  WHERE hosting_via_cdn AND status IN ('live', 'notified');

-- The report list filtered by network (a scorecard's "show reports"), newest first.
CREATE INDEX reports_hosting_asn_idx ON reports (hosting_asn, created_at)
  WHERE hosting_asn IS NOT NULL;

-- Signed-in operators on /admin. The cookie carries the session id (signed); only its sha256 is
-- stored, so reading this table does not let anyone sign in. A session ends at logout, at
-- expires_at, or when its API key is revoked or expires (checked on every request).
CREATE TABLE admin_sessions (
  id_hash    text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
  role       text NOT NULL CHECK (role IN ('admin', 'analyst')),
  actor      text NOT NULL,
  -- null: the bootstrap admin token (auth.adminToken)
  key_id     text REFERENCES api_keys (id),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at   timestamptz
);
CREATE INDEX admin_sessions_key_id_idx ON admin_sessions (key_id) WHERE key_id IS NOT NULL;
CREATE INDEX admin_sessions_expires_at_idx ON admin_sessions (expires_at);
