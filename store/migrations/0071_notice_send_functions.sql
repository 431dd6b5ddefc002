-- The notice sender's two transactions as functions (store/notice-delivery-queries.ts): the claim
-- (`notice_begin_send`) and the record of an attempt (`notice_record_delivery`) were each BEGIN,
-- 3–11 statements and COMMIT, a round trip apiece, on every notice sent. Called in one statement,
-- each is one round trip and still one transaction (the statement's own).
--
-- The bodies are the statements the TypeScript ran, in the same order and with the same row locks
-- (FOR UPDATE on the notice, SKIP LOCKED when gathering a batch), so concurrency is unchanged: a
-- VOLATILE function takes a fresh snapshot per statement under READ COMMITTED, as separate
-- statements did. Decisions that are not the transaction's own (the lease's end, the endpoint
-- statistics of an outcome, the back-off) are still computed by the caller and passed in.
-- Timestamps come back inside jsonb as ISO 8601 strings; the caller turns them into Dates.

-- Claims one notice for one delivery attempt. Returns {"skip": "<NoticeSendSkip>"}, or the notice
-- with its batch's member ids (itself first), reports (in member order, each once), submission
-- with counts by report status, force, and the URL a 410 disabled for its endpoint.
CREATE FUNCTION notice_begin_send(p_id text, p_now timestamptz, p_lease_until timestamptz,
                                  p_batch_window_ms double precision, p_gather_limit integer)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_notice notices%ROWTYPE;
  v_hold timestamptz;
  v_gathered text[];
  v_member_ids text[];
  v_member_reports uuid[];
  v_reports jsonb;
  v_submission jsonb;
  v_force jsonb;
  v_disabled_url text;
BEGIN
  -- A second sender waits here for the first one's commit, then sees its lease.
  SELECT * INTO v_notice FROM notices WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('skip', 'missing'); END IF;
  IF v_notice.status <> 'pending' THEN RETURN jsonb_build_object('skip', 'not_pending'); END IF;
  IF v_notice.batch_id IS NOT NULL AND v_notice.batch_id <> v_notice.id THEN RETURN jsonb_build_object('skip', 'in_batch'); END IF;
  IF v_notice.send_lease_until > p_now THEN RETURN jsonb_build_object('skip', 'leased'); END IF;
  IF v_notice.not_before > p_now THEN RETURN jsonb_build_object('skip', 'not_yet'); END IF;

  -- An evidence hold placed after the notice was written still holds it (CONTRACT.md §4).
  IF v_notice.report_id IS NOT NULL THEN
    SELECT hold_until INTO v_hold FROM reports WHERE id = v_notice.report_id AND hold_until > p_now;
    IF FOUND THEN
      UPDATE notices SET not_before = v_hold, next_attempt_at = v_hold WHERE id = v_notice.id OR batch_id = v_notice.id;
      RETURN jsonb_build_object('skip', 'held');
    END IF;
  END IF;

  -- The first attempt fixes the batch (with or without members): a resend carries the same
  -- reports. Fresh notices only (attempts = 0): one that has been tried has a message, and an id,
  -- of its own.
  IF v_notice.batch_id IS NULL AND p_batch_window_ms > 0 AND v_notice.kind <> 'submission_completed' THEN
    SELECT array_agg(g.id) INTO v_gathered FROM (
      SELECT c.id FROM notices c
      WHERE c.status = 'pending' AND c.target = v_notice.target AND c.recipient_id = v_notice.recipient_id
        AND c.kind = v_notice.kind AND c.sequence = v_notice.sequence
        AND c.batch_id IS NULL AND c.attempts = 0 AND c.id <> v_notice.id
        AND c.created_at <= v_notice.created_at + p_batch_window_ms * interval '1 millisecond'
        AND (c.send_lease_until IS NULL OR c.send_lease_until <= p_now)
        AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = c.report_id AND r.hold_until > p_now)
      ORDER BY c.created_at, c.id LIMIT p_gather_limit
      FOR UPDATE SKIP LOCKED) g;
    UPDATE notices SET batch_id = v_notice.id WHERE id = ANY(array_prepend(v_notice.id, coalesce(v_gathered, '{}')));
  END IF;

  SELECT array_agg(m.id ORDER BY (m.id = v_notice.id) DESC, m.created_at, m.id),
         array_agg(m.report_id ORDER BY (m.id = v_notice.id) DESC, m.created_at, m.id)
    INTO v_member_ids, v_member_reports
    FROM notices m WHERE m.id = v_notice.id OR m.batch_id = v_notice.id;
  -- The sender's lease also keeps the dispatcher away until it runs out.
  UPDATE notices SET send_lease_until = p_lease_until, next_attempt_at = GREATEST(next_attempt_at, p_lease_until)
    WHERE id = ANY(v_member_ids);

  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', r.id, 'url', r.url, 'status', r.status,
           'hosting_ip', r.hosting_ip, 'hosting_country', r.hosting_country, 'hosting_asn', r.hosting_asn,
           'hosting_org', r.hosting_org, 'hosting_via_cdn', r.hosting_via_cdn,
           'first_seen_live_at', r.first_seen_live_at, 'last_seen_live_at', r.last_seen_live_at, 'removed_at', r.removed_at)
         ORDER BY u.ord), '[]'::jsonb)
    INTO v_reports
    FROM (SELECT x.report_id, min(x.ord) AS ord FROM unnest(v_member_reports) WITH ORDINALITY AS x(report_id, ord)
          WHERE x.report_id IS NOT NULL GROUP BY x.report_id) u
    JOIN reports r ON r.id = u.report_id;

  IF v_notice.submission_id IS NOT NULL THEN
    SELECT jsonb_build_object('id', s.id, 'reference', s.reference, 'created_at', s.created_at, 'completed_at', s.completed_at,
             'counts', (SELECT coalesce(jsonb_object_agg(k.status, k.total), '{}'::jsonb)
                        FROM (SELECT r.status, count(*) AS total FROM submission_items si JOIN reports r ON r.id = si.report_id
                              WHERE si.submission_id = s.id GROUP BY r.status) k))
      INTO v_submission FROM submissions s WHERE s.id = v_notice.submission_id;
  END IF;
  IF v_notice.target = 'force' THEN
    SELECT jsonb_build_object('id', f.id, 'name', f.name, 'webhook_url', f.webhook_url, 'webhook_secret', f.webhook_secret)
      INTO v_force FROM forces f WHERE f.id = v_notice.recipient_id;
  END IF;
  SELECT e.disabled_url INTO v_disabled_url FROM endpoint_state e WHERE e.target = v_notice.target AND e.id = v_notice.recipient_id;

  RETURN jsonb_build_object(
    'id', v_notice.id, 'kind', v_notice.kind, 'target', v_notice.target, 'recipient_id', v_notice.recipient_id,
    'sequence', v_notice.sequence, 'episode', v_notice.episode, 'created_at', v_notice.created_at,
    'attempts', v_notice.attempts, 'reason', v_notice.reason, 'member_ids', to_jsonb(v_member_ids),
    'reports', v_reports, 'submission', v_submission, 'force', v_force, 'disabled_url', v_disabled_url);
END
$$;

-- Records one attempt for a notice and its batch (p_mark: 'sent', 'retry' or 'failed') and adds
-- the attempt to its endpoint's statistics. A second 'sent' record (a duplicate job) changes
-- nothing: the attempt is counted once.
CREATE FUNCTION notice_record_delivery(p_id text, p_mark text, p_now timestamptz, p_not_before timestamptz,
                                       p_channel text, p_status integer, p_error text,
                                       p_delivered bigint, p_failed_attempts bigint, p_given_up bigint,
                                       p_success_at timestamptz, p_failure_at timestamptz,
                                       p_disabled_at timestamptz, p_disabled_url text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_ids text[];
  v_initial_reports uuid[];
  v_target text;
  v_recipient_id text;
BEGIN
  SELECT array_agg(m.id),
         array_agg(m.report_id) FILTER (WHERE m.kind = 'initial' AND m.report_id IS NOT NULL),
         max(m.target) FILTER (WHERE m.id = p_id), max(m.recipient_id) FILTER (WHERE m.id = p_id)
    INTO v_ids, v_initial_reports, v_target, v_recipient_id
    FROM notices m WHERE m.id = p_id OR m.batch_id = p_id;
  IF v_ids IS NULL THEN RETURN; END IF;

  IF p_mark = 'sent' THEN
    UPDATE notices SET status = 'sent', sent_at = p_now, attempts = attempts + 1, channel = p_channel, last_status = p_status,
        last_error = NULL, send_lease_until = NULL, next_attempt_at = NULL, not_before = NULL
      WHERE id = ANY(v_ids) AND status = 'pending';
    IF NOT FOUND THEN RETURN; END IF;
    -- CONTRACT.md §4/§5: `notified` means someone was told — set when an initial notice went out.
    IF v_initial_reports IS NOT NULL THEN
      UPDATE reports SET status = 'notified', state_version = state_version + 1
        WHERE id = ANY(v_initial_reports) AND status = 'live' AND verdict = 'illegal';
    END IF;
  ELSIF p_mark = 'retry' THEN
    UPDATE notices SET attempts = attempts + 1, channel = p_channel, last_status = p_status, last_error = p_error,
        send_lease_until = NULL, not_before = p_not_before, next_attempt_at = p_not_before
      WHERE id = ANY(v_ids) AND status = 'pending';
  ELSIF p_mark = 'failed' THEN
    UPDATE notices SET status = 'failed', attempts = attempts + 1, channel = p_channel, last_status = p_status, last_error = p_error,
        send_lease_until = NULL, next_attempt_at = NULL
      WHERE id = ANY(v_ids) AND status = 'pending';
  ELSE
    RAISE EXCEPTION 'notice_record_delivery: unknown mark %', p_mark;
  END IF;

  INSERT INTO endpoint_state AS e (target, id, delivered, failed_attempts, given_up, last_success_at, last_failure_at,
                                   last_error, last_status, disabled_at, disabled_url, updated_at)
    VALUES (v_target, v_recipient_id, p_delivered, p_failed_attempts, p_given_up, p_success_at, p_failure_at,
            p_error, p_status, p_disabled_at, p_disabled_url, p_now)
    ON CONFLICT (target, id) DO UPDATE SET
      delivered = e.delivered + EXCLUDED.delivered,
      failed_attempts = e.failed_attempts + EXCLUDED.failed_attempts,
      given_up = e.given_up + EXCLUDED.given_up,
      last_success_at = COALESCE(EXCLUDED.last_success_at, e.last_success_at),
      last_failure_at = COALESCE(EXCLUDED.last_failure_at, e.last_failure_at),
      last_error = CASE WHEN EXCLUDED.last_failure_at IS NULL THEN e.last_error ELSE EXCLUDED.last_error END,
      last_status = COALESCE(EXCLUDED.last_status, e.last_status),
      disabled_at = CASE WHEN EXCLUDED.disabled_at IS NULL THEN e.disabled_at ELSE EXCLUDED.disabled_at END,
      disabled_url = CASE WHEN EXCLUDED.disabled_at IS NULL THEN e.disabled_url ELSE EXCLUDED.disabled_url END,
      updated_at = EXCLUDED.updated_at;
END
$$;
