-- The logical due time of a report's next check (next_check_at) and the time it may next be
-- handed to the queue (dispatch_at) are kept apart. Dispatching leases a row by moving only
-- dispatch_at forward; the due time, and so the deterministic job id derived from it, stays the
-- same. A re-dispatch after a lease ran out is then a no-op while the first job is still in Redis,
-- and replaces it when Redis lost it.
ALTER TABLE reports ADD COLUMN dispatch_at timestamptz;
UPDATE reports SET dispatch_at = next_check_at WHERE next_check_at IS NOT NULL;
DROP INDEX IF EXISTS reports_next_check_at_idx;
CREATE INDEX reports_dispatch_at_idx ON reports (dispatch_at) WHERE dispatch_at IS NOT NULL;
