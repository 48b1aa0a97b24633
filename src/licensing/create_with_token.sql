-- Create a license key in one statement, the same on both engines: insert the key
-- ($4 id, $5 hash, $6 mask, $7 name, $8 ip, $9 user agent) if a live token ($1,
-- valid at $2) belongs to someone who owns the organization the request acts on:
-- the X-Organization one ($3), or with no header ($3 = '') the only organization
-- they own. A narrow form of the authorization rule (src/authorization.rs): a
-- request it does not match writes nothing and takes the detailed path. One
-- statement is one implicit transaction on both engines.
-- Read by src/licensing/service.rs and, to compare with it, bench/bare_create.rs.
INSERT INTO license_keys
    (id, organization_id, key_hash, masked_key, instance_name, created_by, created_at,
     created_ip, created_user_agent)
SELECT $4, m.organization_id, $5, $6, $7, t.user_id, $2, $8, $9
FROM api_tokens t JOIN memberships m ON m.user_id = t.user_id AND m.role = 'owner'
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2
  AND (m.organization_id = $3 OR ($3 = '' AND NOT EXISTS (
    SELECT 1 FROM memberships other WHERE other.user_id = t.user_id
      AND other.role = 'owner' AND other.organization_id <> m.organization_id)))
RETURNING organization_id, created_by
