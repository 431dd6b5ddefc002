-- directory.hostingProviders.notify: a notice may go to an abuse desk of the hosting network, by
-- e-mail (target 'hosting_provider', recipient_id the desk's address; core/hosting-contacts.ts).
-- Its delivery statistics sit under the same target in endpoint_state.
ALTER TABLE notices DROP CONSTRAINT IF EXISTS notices_target_check;
ALTER TABLE notices ADD CONSTRAINT notices_target_check CHECK (target IN ('recipient', 'force', 'hosting_provider'));
ALTER TABLE endpoint_state DROP CONSTRAINT IF EXISTS endpoint_state_target_check;
ALTER TABLE endpoint_state ADD CONSTRAINT endpoint_state_target_check CHECK (target IN ('recipient', 'force', 'hosting_provider'));
