-- Plans and their features, what validation reports, rotation, and the audit log.

CREATE TABLE plans (
    name TEXT PRIMARY KEY,
    -- The plan's limits and flags as the validate endpoint returns them (JSON).
    features TEXT NOT NULL
);

INSERT INTO plans (name, features) VALUES
('free', '{"maxCompanies":1,"maxUsersPerOrg":1,"maxInvoicesPerMonth":10,"syncIntervalSeconds":86400,"autoSync":false,"mobileApp":false,"pdfGeneration":true,"signatureVerification":false,"apiAccess":false,"realtimeNotifications":false,"paymentLinks":false,"emailSending":false,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":false,"bankStatements":false,"exchangeRates":false,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}'),
('community', '{"maxCompanies":1,"maxUsersPerOrg":3,"maxInvoicesPerMonth":50,"syncIntervalSeconds":3600,"autoSync":true,"mobileApp":false,"pdfGeneration":true,"signatureVerification":true,"apiAccess":false,"realtimeNotifications":false,"paymentLinks":false,"emailSending":true,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":true,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}'),
('freemium', '{"maxCompanies":1,"maxUsersPerOrg":2,"maxInvoicesPerMonth":30,"syncIntervalSeconds":3600,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":false,"realtimeNotifications":false,"paymentLinks":false,"emailSending":true,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":true,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}'),
('starter', '{"maxCompanies":3,"maxUsersPerOrg":5,"maxInvoicesPerMonth":500,"syncIntervalSeconds":900,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}'),
('professional', '{"maxCompanies":10,"maxUsersPerOrg":20,"maxInvoicesPerMonth":5000,"syncIntervalSeconds":300,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":true,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":true,"exchangeRates":true,"webhooks":true,"selfHostingLicense":true,"prioritySupport":false}'),
('business', '{"maxCompanies":0,"maxUsersPerOrg":0,"maxInvoicesPerMonth":0,"syncIntervalSeconds":60,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":true,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":true,"exchangeRates":true,"webhooks":true,"selfHostingLicense":true,"prioritySupport":true}');

ALTER TABLE organizations ADD COLUMN trial_ends_at BIGINT;

-- What the instance last reported about itself.
ALTER TABLE license_keys ADD COLUMN reported_instance_name TEXT;
ALTER TABLE license_keys ADD COLUMN instance_metrics TEXT;
ALTER TABLE license_keys ADD COLUMN last_violations TEXT;
-- Rotation: the old key keeps validating until expires_at, then stops.
ALTER TABLE license_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE license_keys ADD COLUMN replaced_by TEXT;

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    -- NULL for events of a person rather than of an organization (sign-in, tokens).
    organization_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    actor_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_id TEXT,
    details TEXT,
    ip TEXT,
    user_agent TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX audit_events_by_organization ON audit_events (organization_id, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_user_id, id);
