-- Intake, tenancy and audit (issue 7).
--
-- reports.registrable_domain: the host's registrable domain (public-suffix list) at intake, so
-- analysts can group reports by who controls the name. NULL for IP literals and old rows.
-- Not indexed: an index here cost a third more time per 100,000-URL submission on the embedded
-- store, and the domain filter of GET /v1/reports walks reports_created_at_id_idx instead.
ALTER TABLE reports ADD COLUMN registrable_domain text;
-- GET /v1/reports: newest first, keyset on (created_at, id)
CREATE INDEX reports_created_at_id_idx ON reports (created_at, id);

-- What the 202 answer said, so a retried submission (Idempotency-Key) gets the same answer.
ALTER TABLE submissions ADD COLUMN accepted integer CHECK (accepted >= 0);
ALTER TABLE submissions ADD COLUMN duplicates integer CHECK (duplicates >= 0);
ALTER TABLE submissions ADD COLUMN rejected_count integer NOT NULL DEFAULT 0 CHECK (rejected_count >= 0);

-- Lines refused at intake, with their reason (submitted text, truncated; never fetched content).
CREATE TABLE submission_rejections (
  submission_id text NOT NULL REFERENCES submissions (id),
  line          integer NOT NULL CHECK (line > 0),
  input         text NOT NULL,
  error         text NOT NULL,
  PRIMARY KEY (submission_id, line)
);

-- Idempotency-Key of POST /v1/submissions: one submission per (force, key) while unexpired.
-- Written in the submission's own transaction, so a crash cannot leave a submission without
-- its key (a retry would create a second one) or a key without its submission.
CREATE TABLE idempotency_keys (
  force_id      text NOT NULL REFERENCES forces (id),
  key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash  text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  submission_id text NOT NULL REFERENCES submissions (id),
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (force_id, key)
);
CREATE INDEX idempotency_keys_submission_id_idx ON idempotency_keys (submission_id);
