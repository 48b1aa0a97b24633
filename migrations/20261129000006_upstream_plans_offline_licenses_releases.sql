-- Upstream's plan table (see README "Plans"): `community` gets `freemium`'s values,
-- `free` is upstream's expired plan, and only `business` includes self-hosting.
-- A plan an operator has already edited (its features differ from the first
-- migration's) is left as it is.
UPDATE plans SET features = '{"maxCompanies":1,"maxUsersPerOrg":3,"maxInvoicesPerMonth":100,"syncIntervalSeconds":86400,"autoSync":true,"mobileApp":false,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":false,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":false,"importExport":false,"backupRestore":false,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":false,"prioritySupport":false}'
WHERE name = 'community' AND features = '{"maxCompanies":1,"maxUsersPerOrg":3,"maxInvoicesPerMonth":50,"syncIntervalSeconds":3600,"autoSync":true,"mobileApp":false,"pdfGeneration":true,"signatureVerification":true,"apiAccess":false,"realtimeNotifications":false,"paymentLinks":false,"emailSending":true,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":true,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}';
UPDATE plans SET features = '{"maxCompanies":1,"maxUsersPerOrg":3,"maxInvoicesPerMonth":100,"syncIntervalSeconds":86400,"autoSync":true,"mobileApp":false,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":false,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":false,"importExport":false,"backupRestore":false,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":false,"prioritySupport":false}'
WHERE name = 'freemium' AND features = '{"maxCompanies":1,"maxUsersPerOrg":2,"maxInvoicesPerMonth":30,"syncIntervalSeconds":3600,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":false,"realtimeNotifications":false,"paymentLinks":false,"emailSending":true,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":true,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}';
UPDATE plans SET features = '{"maxCompanies":1,"maxUsersPerOrg":1,"maxInvoicesPerMonth":0,"syncIntervalSeconds":0,"autoSync":false,"mobileApp":false,"pdfGeneration":false,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":false,"emailSending":false,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":false,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":false,"prioritySupport":false}'
WHERE name = 'free' AND features = '{"maxCompanies":1,"maxUsersPerOrg":1,"maxInvoicesPerMonth":10,"syncIntervalSeconds":86400,"autoSync":false,"mobileApp":false,"pdfGeneration":true,"signatureVerification":false,"apiAccess":false,"realtimeNotifications":false,"paymentLinks":false,"emailSending":false,"emailTemplates":false,"reports":false,"recurringInvoices":false,"importExport":false,"backupRestore":false,"bankStatements":false,"exchangeRates":false,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}';
UPDATE plans SET features = '{"maxCompanies":3,"maxUsersPerOrg":3,"maxInvoicesPerMonth":500,"syncIntervalSeconds":43200,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":false,"importExport":true,"backupRestore":false,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":false,"prioritySupport":false}'
WHERE name = 'starter' AND features = '{"maxCompanies":3,"maxUsersPerOrg":5,"maxInvoicesPerMonth":500,"syncIntervalSeconds":900,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":false,"exchangeRates":true,"webhooks":false,"selfHostingLicense":true,"prioritySupport":false}';
UPDATE plans SET features = '{"maxCompanies":10,"maxUsersPerOrg":10,"maxInvoicesPerMonth":0,"syncIntervalSeconds":14400,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":false,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":true,"exchangeRates":true,"webhooks":true,"selfHostingLicense":false,"prioritySupport":false}'
WHERE name = 'professional' AND features = '{"maxCompanies":10,"maxUsersPerOrg":20,"maxInvoicesPerMonth":5000,"syncIntervalSeconds":300,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":true,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":true,"exchangeRates":true,"webhooks":true,"selfHostingLicense":true,"prioritySupport":false}';
UPDATE plans SET features = '{"maxCompanies":999999,"maxUsersPerOrg":999999,"maxInvoicesPerMonth":0,"syncIntervalSeconds":3600,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":true,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":true,"exchangeRates":true,"webhooks":true,"selfHostingLicense":true,"prioritySupport":true}'
WHERE name = 'business' AND features = '{"maxCompanies":0,"maxUsersPerOrg":0,"maxInvoicesPerMonth":0,"syncIntervalSeconds":60,"autoSync":true,"mobileApp":true,"pdfGeneration":true,"signatureVerification":true,"apiAccess":true,"realtimeNotifications":true,"paymentLinks":true,"emailSending":true,"emailTemplates":true,"reports":true,"recurringInvoices":true,"importExport":true,"backupRestore":true,"bankStatements":true,"exchangeRates":true,"webhooks":true,"selfHostingLicense":true,"prioritySupport":true}';

-- Offline licenses: RS256 tokens an instance verifies without calling the server.
-- The token itself is not kept (it is shown once); who issued it, when and until
-- when are.
CREATE TABLE offline_licenses (
    id TEXT PRIMARY KEY,
    license_key_id TEXT NOT NULL REFERENCES license_keys (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    issued_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    plan TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX offline_licenses_by_key ON offline_licenses (license_key_id, id);

-- The latest Storno release, as the operator announced it: one row, or none yet.
CREATE TABLE releases (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version TEXT NOT NULL,
    download_url TEXT,
    web_latest TEXT NOT NULL,
    web_min TEXT NOT NULL,
    release_notes TEXT,
    set_at BIGINT NOT NULL
);
