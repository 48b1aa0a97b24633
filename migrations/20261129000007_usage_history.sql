-- Usage history: one row per key per UTC day (day = Unix seconds / 86400), the
-- day's rollup as JSON (validations, instance URLs, max and last of each metric,
-- violations). The day in progress lives on the key's own row (usage_day,
-- usage_today), so a routine validation stays one UPDATE; it moves here when the
-- key first validates on a later day. Kept for 400 days.
ALTER TABLE license_keys ADD COLUMN usage_day BIGINT;
ALTER TABLE license_keys ADD COLUMN usage_today TEXT;

CREATE TABLE key_usage_days (
    license_key_id TEXT NOT NULL REFERENCES license_keys (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    usage TEXT NOT NULL,
    PRIMARY KEY (license_key_id, day)
);

-- A key's timeline reads its events by target.
CREATE INDEX audit_events_by_target ON audit_events (target_id, id);
