-- The instance URLs a key reported lately (a JSON array, newest last, at most 16): a
-- new_instance_url event is recorded only for a URL not among them.
ALTER TABLE license_keys ADD COLUMN known_instance_urls TEXT;
