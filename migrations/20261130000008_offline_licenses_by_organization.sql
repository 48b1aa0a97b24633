-- The keys page asks whether an organization has offline licenses that still
-- work, and lists them: by organization and expiry, not a scan of every tenant's.
CREATE INDEX offline_licenses_by_organization ON offline_licenses (organization_id, expires_at);
