-- Alerts withdrawn (CONTRACT.md §5: alerts are for content confirmed illegal and live). An alert
-- could wait long enough for its report to be removed, to expire or to be rejected — an evidence
-- hold, an endpoint failing for hours — and was then sent anyway, followed by a removal notice for
-- content the recipient had never been told of. Now the claim withdraws it (status 'withdrawn',
-- never sent, never retried): an initial, re-alert or escalation once its content is no longer
-- live or notified; a task-force alert — news that content was found live in the country, which
-- stays true after a removal — only once its content is found not illegal. A removal notice to a
-- recipient no alert reached is withdrawn too. A withdrawn notice keeps its event key: if the
-- same event is planned again (a rejected report found illegal once more, in the same episode), the
-- writer turns it back to pending under the same id (store/notice-queries.ts), and the planner does
-- not count it as told (its history leaves withdrawn notices out).
ALTER TABLE notices DROP CONSTRAINT IF EXISTS notices_status_check;
ALTER TABLE notices ADD CONSTRAINT notices_status_check CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn'));
ALTER TABLE notices ADD COLUMN withdrawn_at timestamptz;

-- Whether an alert of this kind still stands for a report in this status (see above).
CREATE FUNCTION notice_alert_stands(p_kind text, p_status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_kind = 'taskforce_alert' THEN p_status <> 'rejected' ELSE p_status IN ('live', 'notified') END
$$;

-- Whether an alert of this report's episode may have reached this recipient: sent, given up, tried,
-- or claimed by a sender right now (a receiver may have one whose success was never recorded).
CREATE FUNCTION notice_recipient_was_alerted(p_report uuid, p_episode integer, p_target text, p_recipient text)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM notices a
                 WHERE a.report_id = p_report AND a.episode = p_episode AND a.target = p_target AND a.recipient_id = p_recipient
                   AND a.kind IN ('initial', 'realert', 'escalation', 'taskforce_alert')
                   AND (a.status IN ('sent', 'failed') OR a.attempts > 0 OR a.send_lease_until IS NOT NULL))
$$;

CREATE OR REPLACE FUNCTION notice_begin_send(p_id text, p_now timestamptz, p_lease_until timestamptz,
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

  -- An alert is for content still live (CONTRACT.md §5). One that waited — for a hold, a failing
  -- endpoint, the batch window — while its report stopped being what it alerts about is withdrawn
  -- with its batch, at any attempt, once it stands for no report of the batch any more.
  IF v_notice.kind IN ('initial', 'realert', 'escalation', 'taskforce_alert') AND v_notice.report_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM notices m JOIN reports r ON r.id = m.report_id
                     WHERE (m.id = v_notice.id OR m.batch_id = v_notice.id) AND m.status = 'pending'
                       AND notice_alert_stands(v_notice.kind, r.status)) THEN
    UPDATE notices SET status = 'withdrawn', withdrawn_at = p_now, batch_id = NULL
      WHERE (id = v_notice.id OR batch_id = v_notice.id) AND status = 'pending';
    RETURN jsonb_build_object('skip', 'withdrawn');
  END IF;
  -- A removal notice goes to whoever was told of the content; an alert withdrawn (or still
  -- untried, and so about to be) told nobody. Decided before the first attempt only: a notice
  -- once tried is sent as it was first made.
  IF v_notice.kind = 'removal_confirmed' AND v_notice.attempts = 0 AND v_notice.batch_id IS NULL
     AND NOT notice_recipient_was_alerted(v_notice.report_id, v_notice.episode, v_notice.target, v_notice.recipient_id) THEN
    UPDATE notices SET status = 'withdrawn', withdrawn_at = p_now, batch_id = NULL WHERE id = v_notice.id AND status = 'pending';
    RETURN jsonb_build_object('skip', 'withdrawn');
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
        -- what is to be withdrawn does not travel: it is withdrawn when its own turn comes
        AND (c.kind NOT IN ('initial', 'realert', 'escalation', 'taskforce_alert')
             OR EXISTS (SELECT 1 FROM reports r WHERE r.id = c.report_id AND notice_alert_stands(c.kind, r.status)))
        AND (c.kind <> 'removal_confirmed' OR notice_recipient_was_alerted(c.report_id, c.episode, c.target, c.recipient_id))
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
