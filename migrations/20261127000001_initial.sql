-- Portable across SQLite and PostgreSQL: ids are UUID text, times are Unix seconds,
-- "active" flags are derived from nullable *_at columns (a revoked key keeps the
-- moment it was revoked).

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL DEFAULT 'community'
        CHECK (plan IN ('community', 'freemium', 'starter', 'professional', 'business', 'free')),
    deactivated_at BIGINT,
    current_period_end BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    -- UUIDv7: orders memberships by when they were made, finer than created_at.
    id TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

-- Exactly one owner per organization, whatever the concurrency.
CREATE UNIQUE INDEX memberships_one_owner ON memberships (organization_id) WHERE role = 'owner';
CREATE INDEX memberships_by_user ON memberships (user_id, id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE license_keys (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,
    masked_key TEXT NOT NULL,
    instance_name TEXT,
    instance_url TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_validated_at BIGINT,
    activated_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX license_keys_by_organization ON license_keys (organization_id, created_at);
