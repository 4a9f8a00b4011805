-- simbind domain schema. Forward only; every table is tenant-scoped (tenant_id on every row, so
-- every query can filter by it without a join).

CREATE TABLE tenant (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{2,40}$'),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_user (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id      bigint NOT NULL REFERENCES tenant,
  email          text NOT NULL,
  name           text NOT NULL,
  role           text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  -- scrypt: "scrypt$N$r$p$salt$hash" (base64)
  password_hash  text NOT NULL,
  -- true: every customer of the tenant; false: only those in user_customer_access
  all_customers  boolean NOT NULL DEFAULT true,
  active         boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
-- Sign-in is by e-mail alone, so e-mails are unique across tenants.
CREATE UNIQUE INDEX app_user_email_key ON app_user (lower(email));

CREATE TABLE api_token (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenant,
  user_id       bigint NOT NULL REFERENCES app_user ON DELETE CASCADE,
  name          text NOT NULL,
  -- sha256 of the token; the token itself is shown once and never stored
  token_hash    bytea NOT NULL UNIQUE,
  token_prefix  text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  expires_at    timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_token_user_idx ON api_token (user_id);

CREATE TABLE user_session (
  -- sha256 of the session id carried (signed) in the cookie
  id_hash       bytea PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenant,
  user_id       bigint NOT NULL REFERENCES app_user ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_session_expires_idx ON user_session (expires_at);

-- Failed sign-ins per key (e-mail or client address), for login rate limiting across processes.
CREATE TABLE login_attempt (
  key           text NOT NULL,
  attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempt_key_idx ON login_attempt (key, attempted_at);

-- Process-wide settings that must survive restarts (e.g. a generated session secret).
CREATE TABLE app_setting (
  key         text PRIMARY KEY,
  value       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Credentials of one external account. `secrets` (passwords, keys) is read only by the clients'
-- credential loader: no repository that serves the API selects it, and logs redact it.
CREATE TABLE integration_credentials (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id               bigint NOT NULL REFERENCES tenant,
  integration             text NOT NULL CHECK (integration IN ('revio', 'thingspace', 'jasper')),
  name                    text NOT NULL,
  -- a real endpoint, or `simulator://<integration>` for the built-in simulators
  base_url                text NOT NULL,
  -- non-secret account fields: username, clientCode, accountName
  settings                jsonb NOT NULL DEFAULT '{}',
  secrets                 jsonb NOT NULL DEFAULT '{}',
  -- rate limit shared by all workers; NULL: the integration's default
  rate_limit_requests     integer CHECK (rate_limit_requests > 0),
  rate_limit_window_ms    integer CHECK (rate_limit_window_ms > 0),
  rate_limit_concurrency  integer CHECK (rate_limit_concurrency > 0),
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);

CREATE TABLE service_provider (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id       bigint NOT NULL REFERENCES tenant,
  name            text NOT NULL,
  integration     text NOT NULL CHECK (integration IN ('thingspace', 'jasper')),
  portal_type     text NOT NULL CHECK (portal_type IN ('m2m', 'mobility', 'lnp')),
  credentials_id  bigint REFERENCES integration_credentials,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);

CREATE TABLE customer (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id           bigint NOT NULL REFERENCES tenant,
  name                text NOT NULL,
  -- rev: billed in Rev.io; amop: exists only in simbind
  kind                text NOT NULL CHECK (kind IN ('rev', 'amop')),
  rev_customer_id     bigint,
  rev_credentials_id  bigint REFERENCES integration_credentials,
  active              boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (kind = 'amop' OR rev_customer_id IS NOT NULL),
  UNIQUE (tenant_id, rev_customer_id),
  UNIQUE (tenant_id, id)
);
CREATE INDEX customer_name_idx ON customer (tenant_id, lower(name));

-- The customers a user with all_customers = false may reach.
CREATE TABLE user_customer_access (
  user_id      bigint NOT NULL REFERENCES app_user ON DELETE CASCADE,
  customer_id  bigint NOT NULL REFERENCES customer ON DELETE CASCADE,
  PRIMARY KEY (user_id, customer_id)
);

CREATE TABLE site (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    bigint NOT NULL REFERENCES tenant,
  customer_id  bigint NOT NULL REFERENCES customer,
  name         text NOT NULL,
  address      text,
  is_default   boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (customer_id, name)
);
CREATE UNIQUE INDEX site_one_default_idx ON site (customer_id) WHERE is_default;

CREATE TABLE carrier_rate_plan (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id            bigint NOT NULL REFERENCES tenant,
  service_provider_id  bigint NOT NULL REFERENCES service_provider,
  code                 text NOT NULL,
  name                 text NOT NULL,
  communication_plan   text,
  data_allowance_mb    numeric(14, 2),
  active               boolean NOT NULL DEFAULT true,
  UNIQUE (service_provider_id, code)
);

CREATE TABLE customer_rate_plan (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id           bigint NOT NULL REFERENCES tenant,
  code                text NOT NULL,
  name                text NOT NULL,
  data_allocation_mb  numeric(14, 2) NOT NULL DEFAULT 0,
  monthly_rate        numeric(12, 2) NOT NULL DEFAULT 0,
  active              boolean NOT NULL DEFAULT true,
  UNIQUE (tenant_id, code)
);

CREATE TABLE customer_rate_pool (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id       bigint NOT NULL REFERENCES tenant,
  name            text NOT NULL,
  shared_data_mb  numeric(14, 2) NOT NULL DEFAULT 0,
  active          boolean NOT NULL DEFAULT true,
  UNIQUE (tenant_id, name)
);

CREATE TABLE device (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id            bigint NOT NULL REFERENCES tenant,
  service_provider_id  bigint NOT NULL REFERENCES service_provider,
  iccid                text NOT NULL CHECK (iccid ~ '^[0-9]{19,20}$'),
  msisdn               text CHECK (msisdn ~ '^[0-9]{7,15}$'),
  imei                 text CHECK (imei ~ '^[0-9]{14,16}$'),
  status               text NOT NULL
                       CHECK (status IN ('active', 'inactive', 'suspended', 'deactivated', 'test_ready', 'inventory')),
  activated_at         date,
  carrier_rate_plan    text,
  communication_plan   text,
  is_archived          boolean NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (service_provider_id, iccid)
);
-- Identifier lookups during validation (= ANY of up to 100,000 values) and prefix search on screen.
CREATE INDEX device_iccid_idx ON device (tenant_id, iccid text_pattern_ops);
CREATE INDEX device_msisdn_idx ON device (tenant_id, msisdn text_pattern_ops);
CREATE INDEX device_provider_status_idx ON device (service_provider_id, status);

-- Ownership of a device within its tenant: at most one row per device.
CREATE TABLE device_tenant (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id              bigint NOT NULL REFERENCES tenant,
  device_id              bigint NOT NULL REFERENCES device,
  customer_id            bigint REFERENCES customer,
  site_id                bigint REFERENCES site,
  -- the Rev.io customer id (account number) for Rev customers
  account_number         text,
  rev_credentials_id     bigint REFERENCES integration_credentials,
  -- Rev.io's service id of the device's active service line
  rev_service_id         bigint,
  customer_rate_plan_id  bigint REFERENCES customer_rate_plan,
  customer_rate_pool_id  bigint REFERENCES customer_rate_pool,
  data_allocation_mb     numeric(14, 2),
  is_active              boolean NOT NULL DEFAULT true,
  is_deleted             boolean NOT NULL DEFAULT false,
  modified_at            timestamptz NOT NULL DEFAULT now(),
  modified_by            bigint REFERENCES app_user,
  UNIQUE (device_id, tenant_id)
);
CREATE INDEX device_tenant_customer_idx ON device_tenant (tenant_id, customer_id) WHERE NOT is_deleted;

-- A billing service line in Rev.io. The row is written as an intent (status `pending`, no service_id)
-- before the create call, so that a crash or retry looks the service up instead of creating another.
CREATE TABLE rev_service (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id              bigint NOT NULL REFERENCES tenant,
  device_id              bigint NOT NULL REFERENCES device,
  customer_id            bigint NOT NULL REFERENCES customer,
  rev_credentials_id     bigint NOT NULL REFERENCES integration_credentials,
  rev_customer_id        bigint NOT NULL,
  service_id             bigint,
  number                 text NOT NULL,
  number2                text,
  service_type_id        integer,
  provider_id            integer,
  package_id             integer,
  usage_plan_group_id    integer,
  effective_date         date,
  activated_date         date,
  description            text,
  status                 text NOT NULL CHECK (status IN ('pending', 'created', 'failed', 'disconnected')),
  is_active              boolean NOT NULL DEFAULT true,
  bulk_change_device_id  bigint,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'created' OR service_id IS NOT NULL)
);
CREATE UNIQUE INDEX rev_service_remote_key ON rev_service (rev_credentials_id, service_id) WHERE service_id IS NOT NULL;
-- One intent per work order, whatever retries or workers do.
CREATE UNIQUE INDEX rev_service_work_order_key ON rev_service (bulk_change_device_id) WHERE bulk_change_device_id IS NOT NULL;
-- At most one live service line per device and customer.
CREATE UNIQUE INDEX rev_service_active_key ON rev_service (device_id, customer_id)
  WHERE is_active AND status IN ('pending', 'created');
CREATE INDEX rev_service_device_idx ON rev_service (tenant_id, device_id) WHERE is_active;

CREATE TABLE rev_service_product (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id           bigint NOT NULL REFERENCES tenant,
  rev_service_id      bigint NOT NULL REFERENCES rev_service,
  product_id          integer NOT NULL,
  rate                numeric(12, 4),
  quantity            integer NOT NULL DEFAULT 1,
  service_product_id  bigint,
  status              text NOT NULL CHECK (status IN ('pending', 'created', 'failed')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (rev_service_id, product_id)
);

CREATE TABLE bulk_change (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id            bigint NOT NULL REFERENCES tenant,
  change_type          text NOT NULL CHECK (change_type IN ('customer_assignment')),
  service_provider_id  bigint NOT NULL REFERENCES service_provider,
  portal_type          text NOT NULL CHECK (portal_type IN ('m2m', 'mobility', 'lnp')),
  customer_id          bigint NOT NULL REFERENCES customer,
  site_id              bigint REFERENCES site,
  status               text NOT NULL DEFAULT 'NEW'
                       CHECK (status IN ('NEW', 'PROCESSING', 'PROCESSED', 'PROCESSED_WITH_ERRORS', 'ERROR', 'CANCELLED')),
  -- the validated request options (camelCase, as submitted)
  options              jsonb NOT NULL,
  total_count          integer NOT NULL DEFAULT 0,
  created_by           bigint NOT NULL REFERENCES app_user,
  idempotency_key      text,
  request_hash         text,
  -- which entry point: api, legacy
  source               text NOT NULL DEFAULT 'api',
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  completed_at         timestamptz,
  -- completion statistics written once by the finish step
  stats                jsonb,
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX bulk_change_idempotency_key ON bulk_change (tenant_id, created_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX bulk_change_list_idx ON bulk_change (tenant_id, id DESC);
CREATE INDEX bulk_change_status_idx ON bulk_change (tenant_id, status, id DESC);

-- A work order: one device's part of a bulk change.
CREATE TABLE bulk_change_device (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id            bigint NOT NULL REFERENCES tenant,
  bulk_change_id       bigint NOT NULL REFERENCES bulk_change ON DELETE CASCADE,
  -- NULL when the identifier matched no device
  device_id            bigint REFERENCES device,
  -- what the submitter sent (ICCID or MSISDN)
  identifier           text NOT NULL,
  iccid                text,
  msisdn               text,
  status               text NOT NULL
                       CHECK (status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER', 'PROCESSED', 'ERROR', 'CANCELLED')),
  error_category       text CHECK (error_category IN ('eligibility', 'permission', 'integration', 'internal')),
  message              text,
  -- may `retry` pick it up again (transient integration failures, internal errors)
  retryable            boolean NOT NULL DEFAULT false,
  -- the per-device change request: device, customer, site, Rev ids, effective date, options
  request              jsonb,
  steps_done           text[] NOT NULL DEFAULT '{}',
  attempts             integer NOT NULL DEFAULT 0,
  chunk                integer,
  -- the Rev.io service line created for this work order, and the carrier's async request id
  rev_service_id       bigint,
  carrier_request_id   text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  processed_at         timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (bulk_change_id, identifier)
);
CREATE INDEX bulk_change_device_list_idx ON bulk_change_device (bulk_change_id, id);
CREATE INDEX bulk_change_device_status_idx ON bulk_change_device (bulk_change_id, status);
CREATE INDEX bulk_change_device_chunk_idx ON bulk_change_device (bulk_change_id, chunk);
-- A device is in at most one open work order: two bulk changes racing for it cannot both win.
CREATE UNIQUE INDEX bulk_change_device_open_key ON bulk_change_device (device_id)
  WHERE status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER');
CREATE INDEX bulk_change_device_carrier_request_idx ON bulk_change_device (carrier_request_id)
  WHERE carrier_request_id IS NOT NULL;

CREATE TABLE change_log (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id              bigint NOT NULL REFERENCES tenant,
  bulk_change_id         bigint NOT NULL REFERENCES bulk_change ON DELETE CASCADE,
  bulk_change_device_id  bigint REFERENCES bulk_change_device ON DELETE CASCADE,
  device_id              bigint REFERENCES device,
  description            text NOT NULL,
  portal_type            text NOT NULL CHECK (portal_type IN ('m2m', 'mobility', 'lnp')),
  -- request / response as sent and received, secrets redacted
  request_text           text,
  response_status        text,
  response_text          text,
  has_error              boolean NOT NULL DEFAULT false,
  error_text             text,
  processed_by           text NOT NULL,
  processed_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_log_bulk_change_idx ON change_log (bulk_change_id, id);
CREATE INDEX change_log_work_order_idx ON change_log (bulk_change_device_id, id);

CREATE TABLE device_history (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id       bigint NOT NULL REFERENCES tenant,
  device_id       bigint NOT NULL REFERENCES device,
  bulk_change_id  bigint REFERENCES bulk_change,
  -- customer_assignment, customer_rate_plan, carrier_rate_plan, rev_service
  change_type     text NOT NULL,
  before          jsonb,
  after           jsonb NOT NULL,
  changed_by      bigint REFERENCES app_user,
  changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_history_device_idx ON device_history (device_id, id DESC);
CREATE INDEX device_history_bulk_change_idx ON device_history (bulk_change_id);

-- A customer rate plan change dated in the future, applied by a scheduled job on its date.
CREATE TABLE scheduled_rate_plan_change (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id              bigint NOT NULL REFERENCES tenant,
  device_id              bigint NOT NULL REFERENCES device,
  bulk_change_id         bigint REFERENCES bulk_change,
  bulk_change_device_id  bigint REFERENCES bulk_change_device,
  customer_rate_plan_id  bigint REFERENCES customer_rate_plan,
  customer_rate_pool_id  bigint REFERENCES customer_rate_pool,
  data_allocation_mb     numeric(14, 2),
  effective_date         date NOT NULL,
  portal_type            text NOT NULL CHECK (portal_type IN ('m2m', 'mobility', 'lnp')),
  status                 text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'applied', 'cancelled')),
  created_by             bigint REFERENCES app_user,
  created_at             timestamptz NOT NULL DEFAULT now(),
  applied_at             timestamptz,
  UNIQUE (bulk_change_device_id)
);
CREATE INDEX scheduled_rate_plan_change_due_idx ON scheduled_rate_plan_change (effective_date)
  WHERE status = 'scheduled';

CREATE TABLE webhook_endpoint (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenant,
  url         text NOT NULL,
  -- HMAC-SHA256 key for X-Simbind-Signature; never returned by the API
  secret      text NOT NULL,
  events      text[] NOT NULL DEFAULT '{bulk_change.completed}',
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Each notification (webhook or e-mail) and each of its delivery attempts.
CREATE TABLE notification_delivery (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id            bigint NOT NULL REFERENCES tenant,
  bulk_change_id       bigint NOT NULL REFERENCES bulk_change ON DELETE CASCADE,
  channel              text NOT NULL CHECK (channel IN ('webhook', 'email')),
  webhook_endpoint_id  bigint REFERENCES webhook_endpoint,
  recipient            text NOT NULL,
  event                text NOT NULL,
  payload              jsonb NOT NULL,
  status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts             integer NOT NULL DEFAULT 0,
  last_status_code     integer,
  last_error           text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  delivered_at         timestamptz,
  UNIQUE (bulk_change_id, channel, recipient, event)
);

CREATE TABLE notification_attempt (
  id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_delivery_id  bigint NOT NULL REFERENCES notification_delivery ON DELETE CASCADE,
  attempt                   integer NOT NULL,
  status_code               integer,
  error                     text,
  duration_ms               integer,
  attempted_at              timestamptz NOT NULL DEFAULT now()
);
