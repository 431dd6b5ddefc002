-- The notifier (issue 6): what delivering the outbox needs.
--
-- A notice goes to a directory recipient or to a force's registered webhook (target), about a
-- report or, for submission.completed, a submission. Its id is chosen once, when the row is
-- written, and every delivery attempt carries it.
ALTER TABLE notices ALTER COLUMN id SET DEFAULT gen_random_uuid()::text;
ALTER TABLE notices ALTER COLUMN report_id DROP NOT NULL;
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN
  ('initial', 'realert', 'escalation', 'removal_confirmed', 'taskforce_alert', 'submission_completed', 'report_removed'));
ALTER TABLE notices ADD COLUMN target text NOT NULL DEFAULT 'recipient' CHECK (target IN ('recipient', 'force'));
ALTER TABLE notices ADD COLUMN submission_id text REFERENCES submissions (id);
ALTER TABLE notices ADD CONSTRAINT notices_subject_check CHECK (report_id IS NOT NULL OR submission_id IS NOT NULL);
-- the report's monitoring episode (1, then +1 per reappearance after removal)
ALTER TABLE notices ADD COLUMN episode integer NOT NULL DEFAULT 1 CHECK (episode >= 1);
-- back-off: no attempt before this (next_attempt_at is the dispatcher's due time and lease)
ALTER TABLE notices ADD COLUMN not_before timestamptz;
-- a sender's claim on one attempt: no second sender while it lasts
ALTER TABLE notices ADD COLUMN send_lease_until timestamptz;
-- times the dispatcher leased it to the queue: part of the job id of each lease
ALTER TABLE notices ADD COLUMN dispatches integer NOT NULL DEFAULT 0 CHECK (dispatches >= 0);
-- batching (notices.batchWindow): the notice whose message carries this one; fixed at the first attempt
ALTER TABLE notices ADD COLUMN batch_id text REFERENCES notices (id);
ALTER TABLE notices ADD COLUMN channel text CHECK (channel IN ('webhook', 'email'));
ALTER TABLE notices ADD COLUMN last_status integer CHECK (last_status BETWEEN 100 AND 999);
CREATE INDEX notices_submission_id_idx ON notices (submission_id) WHERE submission_id IS NOT NULL;
CREATE INDEX notices_batch_id_idx ON notices (batch_id) WHERE batch_id IS NOT NULL;
-- gathering a batch: pending notices of one recipient and kind
CREATE INDEX notices_pending_recipient_idx ON notices (target, recipient_id, kind, created_at) WHERE status = 'pending';

-- Routing could not place the report normally (CONTRACT.md §5 rule 5): shown on /admin.
ALTER TABLE reports ADD COLUMN routing_flag text CHECK (routing_flag IN ('unknown_country', 'unrouted'));
CREATE INDEX reports_routing_flag_idx ON reports (routing_flag) WHERE routing_flag IS NOT NULL;

-- Per endpoint (a directory recipient, or a force's webhook): delivery statistics, and the flag a
-- 410 sets. A disabled endpoint stays disabled for that URL: a force registering another URL, or
-- an operator re-enabling it, sends again.
CREATE TABLE endpoint_state (
  target          text NOT NULL CHECK (target IN ('recipient', 'force')),
  id              text NOT NULL,
  delivered       bigint NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  failed_attempts bigint NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  given_up        bigint NOT NULL DEFAULT 0 CHECK (given_up >= 0),
  last_success_at timestamptz,
  last_failure_at timestamptz,
  last_error      text,
  last_status     integer,
  disabled_at     timestamptz,
  disabled_url    text,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (target, id),
  CHECK ((disabled_at IS NULL) = (disabled_url IS NULL))
);

-- Server secrets every vigil process shares (the ack-link HMAC key): created once, by whichever
-- process needs one first, so processes on several machines agree without configuration.
CREATE TABLE server_secrets (
  name       text PRIMARY KEY,
  secret     text NOT NULL CHECK (length(secret) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
