-- The report lifecycle (issue 5): removal confirmation counters, reopening, and a state version
-- that makes applying a check (or a verdict) to a report compare-and-set.
--
-- gone_streak / gone_since: the run of consecutive `gone` checks since the content was last seen
-- live, and when its first one was observed (core/removal-policy.ts). Inconclusive checks leave
-- them as they are; a live sighting resets them.
ALTER TABLE reports ADD COLUMN gone_streak integer NOT NULL DEFAULT 0 CHECK (gone_streak >= 0);
ALTER TABLE reports ADD COLUMN gone_since timestamptz;
ALTER TABLE reports ADD CONSTRAINT reports_gone_streak_dated CHECK ((gone_streak = 0) = (gone_since IS NULL));
-- how often removed content came back: keys the notices of each reappearance
ALTER TABLE reports ADD COLUMN reopen_count integer NOT NULL DEFAULT 0 CHECK (reopen_count >= 0);
-- bumped by every write of the lifecycle state (status, verdict, streak): a job that computed a
-- transition from an older state applies nothing and computes again
ALTER TABLE reports ADD COLUMN state_version bigint NOT NULL DEFAULT 0;

-- The reconciler's scan: rows handed to the queue whose check has not come back yet. A row
-- leaves this index when its check is recorded (dispatch_at = next_check_at again).
CREATE INDEX reports_in_flight_idx ON reports (dispatch_at) WHERE dispatch_at > next_check_at;
