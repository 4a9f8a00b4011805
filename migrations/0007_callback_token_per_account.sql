-- ThingSpace callbacks are authenticated per account (security review, issue 18). The one token of
-- the whole installation was registered on every tenant's ThingSpace account, so whoever held it
-- could settle any tenant's waiting plan changes. Now each ThingSpace credentials row has its own
-- token; only its SHA-256 is kept here (the token itself lives in the URL registered at ThingSpace),
-- and a callback applies only to requests sent with that row's credentials. Kept in a table of its
-- own: integration_credentials stays as it is (API queries select from it; the secrets stay apart).
CREATE TABLE carrier_callback_token (
  credentials_id  bigint PRIMARY KEY REFERENCES integration_credentials ON DELETE CASCADE,
  token_hash      bytea NOT NULL UNIQUE,
  -- The token replaced by the last registration, still accepted for a few minutes: callbacks
  -- ThingSpace sent to the old URL just before the new one was registered are not lost.
  previous_hash   bytea,
  rotated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX carrier_callback_token_previous_idx ON carrier_callback_token (previous_hash)
  WHERE previous_hash IS NOT NULL;

-- The installation-wide token is withdrawn: URLs carrying it are refused (404) from now on, and the
-- next registration per account replaces it at ThingSpace.
DELETE FROM app_setting WHERE key = 'thingspace_callback_token';

-- The account whose credentials sent the request a work order waits for; a callback through that
-- account's URL settles only these waits.
ALTER TABLE bulk_change_device ADD COLUMN carrier_credentials_id bigint REFERENCES integration_credentials;
UPDATE bulk_change_device w SET carrier_credentials_id = sp.credentials_id
FROM bulk_change bc JOIN service_provider sp ON sp.id = bc.service_provider_id
WHERE w.bulk_change_id = bc.id AND w.status = 'WAITING_CARRIER';

-- The inbox of results is keyed by account. Rows kept so far cannot be attributed (anyone with the
-- shared token could have planted them) and only ever bridged the seconds before a wait was
-- recorded: they are dropped, and the status poll finds any result still needed.
DELETE FROM carrier_result;
ALTER TABLE carrier_result
  ADD COLUMN credentials_id bigint NOT NULL REFERENCES integration_credentials ON DELETE CASCADE,
  DROP CONSTRAINT carrier_result_pkey,
  ADD PRIMARY KEY (credentials_id, request_id);
-- Pruning (rows past a day, or past the per-account bound) walks an account's rows by age.
CREATE INDEX carrier_result_account_age_idx ON carrier_result (credentials_id, received_at, request_id);
