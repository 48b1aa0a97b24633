-- Identity by email: an address counts once its owner clicked a link sent to it.
-- Accounts that existed before are unverified until then (nothing proved them).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- Single-use links sent by email: verify an address (at sign-up, or the new one of
-- an email change) or reset a password. Only the token's HMAC is kept.
CREATE TABLE email_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash TEXT NOT NULL UNIQUE,
    -- The address the link was sent to: the one it proves when clicked.
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE INDEX email_tokens_by_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_by_expiry ON email_tokens (expires_at);

-- What must leave the server (emails now, webhooks next), written in the same
-- transaction as the change that causes it and delivered by a background worker.
-- A message is due when `next_attempt_at` has passed; a worker claims it by moving
-- `next_attempt_at` a lease ahead (a crashed worker's claim simply falls due again)
-- and stamping `claim`, which its acknowledgement must match.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    -- Which deliverer takes it: 'email' (later 'webhook').
    topic TEXT NOT NULL,
    -- Messages of one key are delivered in order (webhooks per license key); NULL: any order.
    ordering_key TEXT,
    -- The message, sealed with a key derived from the pepper: it may hold a link
    -- with a single-use token until it is delivered, and then it is erased.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claim TEXT,
    delivered_at BIGINT,
    -- Given up on: still undelivered 24 hours after it was written.
    failed_at BIGINT,
    last_error TEXT
);

CREATE INDEX outbox_due ON outbox (topic, next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_by_age ON outbox (created_at);
