-- Browser sessions beside the users they belong to, so that a page reads its
-- session and its user in one query. `id` is HMAC(pepper, the browser's session
-- id): a copy of this table opens no session. `user_id` repeats the signed-in user
-- kept in `data` (JSON), for that join. Sessions in tower-sessions' own table
-- (MessagePack) are not carried over: whoever was signed in signs in once more.
-- That table is left as it was, for an instance of the previous version still
-- running beside this one; drop it (`tower_sessions`, on PostgreSQL the schema
-- `tower_sessions`) once none is.
CREATE TABLE browser_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX browser_sessions_by_user ON browser_sessions (user_id);
CREATE INDEX browser_sessions_by_expiry ON browser_sessions (expires_at);
