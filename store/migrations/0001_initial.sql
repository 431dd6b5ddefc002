-- vigil store of record, first schema.
-- Constraints: snake_case; every foreign key has an index; enums are CHECK constraints (cheaper to
-- extend in a later migration than PostgreSQL enum types); never a column for fetched content
-- (CONTRACT.md §7) — only verdicts, digests, statuses and hosting metadata.
-- The same SQL runs on PostgreSQL >= 13 and on PGlite (embedded PostgreSQL).

CREATE TABLE forces (
  id             text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  webhook_url    text,
  -- the force's Standard Webhooks signing secret; needed in clear to sign
  webhook_secret text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  role         text NOT NULL CHECK (role IN ('admin', 'analyst', 'force', 'recipient')),
  force_id     text REFERENCES forces (id),
  recipient_id text,
  label        text,
  -- hex sha256 of the bearer token; the token itself is never stored
  token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  CHECK (role <> 'force' OR force_id IS NOT NULL),
  CHECK (role <> 'recipient' OR recipient_id IS NOT NULL)
);
CREATE INDEX api_keys_force_id_idx ON api_keys (force_id);

CREATE TABLE submissions (
  id           text PRIMARY KEY,
  force_id     text NOT NULL REFERENCES forces (id),
  reference    text,
  item_count   integer NOT NULL DEFAULT 0 CHECK (item_count >= 0),
  created_at   timestamptz NOT NULL,
  completed_at timestamptz
);
CREATE INDEX submissions_force_id_idx ON submissions (force_id, created_at);

CREATE TABLE reports (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- the normalised URL: one report per URL, however many forces submit it
  url                text NOT NULL UNIQUE,
  status             text NOT NULL CHECK (status IN
                       ('pending', 'live', 'notified', 'removed', 'unreachable', 'rejected', 'refused', 'expired')),
  verdict            text CHECK (verdict IN ('illegal', 'not_illegal')),
  verdict_source     text CHECK (verdict_source IN ('submission', 'analyst', 'hash_list')),
  sha256             text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  sha1               text CHECK (sha1 ~ '^[0-9a-f]{40}$'),
  md5                text CHECK (md5 ~ '^[0-9a-f]{32}$'),
  created_at         timestamptz NOT NULL,
  first_seen_live_at timestamptz,
  last_seen_live_at  timestamptz,
  removed_at         timestamptz,
  last_checked_at    timestamptz,
  -- the check schedule: due at this time; null = never checked again
  next_check_at      timestamptz,
  -- the re-alert schedule; null = no re-alert planned
  next_realert_at    timestamptz,
  hosting_ip         text,
  hosting_country    text CHECK (hosting_country ~ '^[A-Z]{2}$'),
  hosting_asn        bigint CHECK (hosting_asn BETWEEN 0 AND 4294967295),
  hosting_org        text,
  hosting_via_cdn    boolean,
  -- evidence hold: no notices before this time
  hold_until         timestamptz,
  -- monitoring ends at this time unless removal is confirmed first
  expires_at         timestamptz,
  CHECK ((verdict IS NULL) = (verdict_source IS NULL))
);
-- the dispatcher's scan: due rows only
CREATE INDEX reports_next_check_at_idx ON reports (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX reports_next_realert_at_idx ON reports (next_realert_at) WHERE next_realert_at IS NOT NULL;
CREATE INDEX reports_status_idx ON reports (status, created_at);
CREATE INDEX reports_hosting_country_idx ON reports (hosting_country) WHERE hosting_country IS NOT NULL;

-- which forces monitor a report: the tenant boundary for reports
CREATE TABLE report_forces (
  report_id  uuid NOT NULL REFERENCES reports (id),
  force_id   text NOT NULL REFERENCES forces (id),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (report_id, force_id)
);
CREATE INDEX report_forces_force_id_idx ON report_forces (force_id, report_id);

CREATE TABLE submission_items (
  submission_id text NOT NULL REFERENCES submissions (id),
  line          integer NOT NULL CHECK (line > 0),
  -- the submitted text (a URL, not fetched content)
  input         text NOT NULL,
  report_id     uuid NOT NULL REFERENCES reports (id),
  sha256        text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  sha1          text CHECK (sha1 ~ '^[0-9a-f]{40}$'),
  md5           text CHECK (md5 ~ '^[0-9a-f]{32}$'),
  verdict       text CHECK (verdict IN ('illegal', 'not_illegal')),
  PRIMARY KEY (submission_id, line)
);
CREATE INDEX submission_items_report_id_idx ON submission_items (report_id);

CREATE TABLE checks (
  -- the job's stable id: recording the same check twice changes state once
  id           text PRIMARY KEY,
  report_id    uuid NOT NULL REFERENCES reports (id),
  outcome      text NOT NULL CHECK (outcome IN ('live', 'gone', 'inconclusive', 'refused')),
  reason       text NOT NULL,
  http_status  integer CHECK (http_status BETWEEN 100 AND 999),
  vantage      text,
  started_at   timestamptz NOT NULL,
  duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
  -- the report's status this check led to (history for analysts)
  status_after text NOT NULL CHECK (status_after IN
                 ('pending', 'live', 'notified', 'removed', 'unreachable', 'rejected', 'refused', 'expired'))
);
CREATE INDEX checks_report_id_idx ON checks (report_id, started_at);

CREATE TABLE traces (
  id         text PRIMARY KEY,
  report_id  uuid NOT NULL REFERENCES reports (id),
  check_id   text REFERENCES checks (id),
  created_at timestamptz NOT NULL,
  ip         text,
  country    text CHECK (country ~ '^[A-Z]{2}$'),
  asn        bigint CHECK (asn BETWEEN 0 AND 4294967295),
  org        text,
  via_cdn    boolean NOT NULL DEFAULT false,
  -- where each answer came from (resolver, mmdb file and build, RDAP server)
  provenance jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX traces_report_id_idx ON traces (report_id, created_at);
CREATE INDEX traces_check_id_idx ON traces (check_id);

-- the outbox: written in the same transaction as the state change that causes a notice
CREATE TABLE notices (
  id              text PRIMARY KEY,
  report_id       uuid NOT NULL REFERENCES reports (id),
  recipient_id    text NOT NULL,
  kind            text NOT NULL CHECK (kind IN
                    ('initial', 'realert', 'escalation', 'removal_confirmed', 'taskforce_alert')),
  sequence        integer NOT NULL DEFAULT 1 CHECK (sequence >= 1),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  reason          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- idempotency key of the causing event: a retry never yields a second notice
  event_key       text NOT NULL UNIQUE,
  created_at      timestamptz NOT NULL,
  sent_at         timestamptz,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz,
  last_error      text,
  acked_at        timestamptz,
  ack_status      text CHECK (ack_status IN ('received', 'actioned')),
  CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX notices_report_id_idx ON notices (report_id, created_at);
CREATE INDEX notices_recipient_id_idx ON notices (recipient_id, created_at);
CREATE INDEX notices_due_idx ON notices (next_attempt_at) WHERE status = 'pending';

-- Append-only, hash-chained audit trail. hash = sha256 hex of (prev_hash || canonical JSON of the
-- row), computed by the writer under pg_advisory_xact_lock; prev_hash UNIQUE makes a fork of the
-- chain impossible even for a writer that skips the lock.
CREATE TABLE audit_log (
  seq          bigserial PRIMARY KEY,
  at           timestamptz NOT NULL,
  actor        text NOT NULL,
  action       text NOT NULL,
  subject_type text NOT NULL,
  subject_id   text,
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash    text NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash         text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % rejected', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
