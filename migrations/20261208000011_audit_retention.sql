-- Audit events are kept for AUDIT_RETENTION_DAYS, then erased by age.
CREATE INDEX audit_events_by_time ON audit_events (created_at);
