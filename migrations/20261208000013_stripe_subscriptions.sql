-- Plans follow Stripe: an organization remembers its Stripe customer and subscription
-- (from the checkout that started it) and the time of the last subscription event
-- applied to it, so an older event delivered late changes nothing.
ALTER TABLE organizations ADD COLUMN stripe_customer_id TEXT;
ALTER TABLE organizations ADD COLUMN stripe_subscription_id TEXT;
ALTER TABLE organizations ADD COLUMN stripe_event_created BIGINT;
CREATE INDEX organizations_by_stripe_customer ON organizations (stripe_customer_id);
CREATE INDEX organizations_by_stripe_subscription ON organizations (stripe_subscription_id);

-- Every Stripe event applied, by id: a redelivery changes nothing.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- A subscription event that came before the checkout naming its organization (Stripe
-- does not deliver in order): the newest per subscription, applied when the checkout
-- arrives.
CREATE TABLE stripe_pending_events (
    subscription_id TEXT PRIMARY KEY,
    created BIGINT NOT NULL,
    body TEXT NOT NULL
);
