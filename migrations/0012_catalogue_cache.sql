-- The catalogues the assignment form picks from, read from the partners' accounts and cached (issue
-- 11, item 3): a Rev.io account's service types, products, packages, providers and usage plan groups,
-- and a Control Center (Jasper) account's communication plans. Carrier rate plans are not here: they
-- are kept in carrier_rate_plan, per service provider, where devices and bulk changes name them.
--
-- A refresh reads the whole catalogue first, then replaces the account's entries and its
-- catalogue_fetch row in one transaction: a failed read changes nothing.
CREATE TABLE catalogue_fetch (
  credentials_id  bigint PRIMARY KEY REFERENCES integration_credentials,
  tenant_id       bigint NOT NULL REFERENCES tenant,
  fetched_at      timestamptz NOT NULL,
  -- entries per kind as read, e.g. {"products": 12, "packages": 2}
  counts          jsonb NOT NULL
);

CREATE TABLE catalogue_entry (
  credentials_id  bigint NOT NULL REFERENCES catalogue_fetch ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('service_type', 'product', 'package', 'provider',
                                                'usage_plan_group', 'communication_plan')),
  -- Rev.io's integer ids as text; Control Center names its communication plans
  remote_id       text NOT NULL,
  name            text NOT NULL,
  active          boolean NOT NULL DEFAULT true,
  -- a product's default rate
  rate            numeric(14, 4),
  -- the rest of the partner's record, as read
  details         jsonb NOT NULL DEFAULT '{}',
  fetched_at      timestamptz NOT NULL,
  PRIMARY KEY (credentials_id, kind, remote_id)
);

-- When a catalogue refresh last listed the carrier plan (null: entered otherwise, e.g. the demo seed
-- or a CSV). A plan the carrier no longer lists is made inactive, never deleted: devices, bulk
-- changes and scheduled changes name plans by code.
ALTER TABLE carrier_rate_plan ADD COLUMN listed_at timestamptz;
