-- Memberships by consent: an owner invites an email; the person with that email
-- accepts (becoming a member) or declines. Invitations end after 7 days.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Lower-cased, as accounts store it; there may be no account with it (yet).
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    invited_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- One pending invitation per email and organization: inviting again renews it.
CREATE UNIQUE INDEX invitations_one_per_email ON invitations (organization_id, email);
CREATE INDEX invitations_by_email ON invitations (email);
CREATE INDEX invitations_by_age ON invitations (expires_at);

-- Swept: tokens past their expiry.
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);
-- A person's own events (sign-ins, tokens), read on their Account page.
CREATE INDEX audit_events_personal ON audit_events (actor_user_id, id) WHERE organization_id IS NULL;
