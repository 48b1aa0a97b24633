-- A key's row is its own creation record: who (created_by), when (created_at), and
-- now from where. Creating a key writes one row instead of two, atomic by
-- construction; the activity log reads "license_key.created" from license_keys.
ALTER TABLE license_keys ADD COLUMN created_ip TEXT;
ALTER TABLE license_keys ADD COLUMN created_user_agent TEXT;

-- The creation events recorded so far move into their keys' rows.
UPDATE license_keys SET
    created_ip = (SELECT e.ip FROM audit_events e
                  WHERE e.action = 'license_key.created' AND e.target_id = license_keys.id),
    created_user_agent = (SELECT e.user_agent FROM audit_events e
                          WHERE e.action = 'license_key.created' AND e.target_id = license_keys.id);
DELETE FROM audit_events WHERE action = 'license_key.created';

-- Keys are listed, and their creations paged through, by organization in id
-- (UUIDv7: creation) order.
DROP INDEX license_keys_by_organization;
CREATE INDEX license_keys_by_organization ON license_keys (organization_id, id);
-- A rotation's replacement is logged as the rotation, not as a creation.
CREATE INDEX license_keys_by_replaced ON license_keys (replaced_by) WHERE replaced_by IS NOT NULL;
