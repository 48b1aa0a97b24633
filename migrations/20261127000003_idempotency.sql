-- Answers to idempotent requests (Idempotency-Key), kept for replay for 24 hours.
-- The answer holds a license key in full, so it is stored only encrypted.
CREATE TABLE idempotent_requests (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- HMAC of the client's Idempotency-Key.
    key_hash TEXT NOT NULL,
    -- HMAC of the operation, organization and body: a reuse for another request is refused.
    fingerprint TEXT NOT NULL,
    -- hex(nonce || XChaCha20-Poly1305 ciphertext of the JSON answer).
    sealed_answer TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key_hash)
);

CREATE INDEX idempotent_requests_by_age ON idempotent_requests (created_at);
