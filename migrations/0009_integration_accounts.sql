-- Integration accounts entered by administrators (issue 11): secrets are write-only, so the API shows
-- when and by whom they were last set instead of the values.
ALTER TABLE integration_credentials
  ADD COLUMN secrets_set_at timestamptz,
  ADD COLUMN secrets_set_by bigint REFERENCES app_user ON DELETE SET NULL;
UPDATE integration_credentials SET secrets_set_at = created_at;
