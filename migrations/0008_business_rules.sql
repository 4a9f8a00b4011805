-- Business rules an operator relies on (issue 12, rules 1, 2, 7, 8 and 9).

-- Rule 9, who did it: each change-log entry names the person who submitted the change (the older
-- platform's "processed by") beside the process that ran the step (`processed_by`: a worker, the
-- scheduler, a ThingSpace callback). Kept as text, as written at the time: renaming or removing a
-- user later does not rewrite history.
ALTER TABLE change_log ADD COLUMN submitted_by text;
UPDATE change_log l SET submitted_by = u.email
FROM bulk_change b JOIN app_user u ON u.id = b.created_by
WHERE b.id = l.bulk_change_id;

-- Rule 7, completion statistics: the external system an entry's request went to (`revio`,
-- `thingspace`, `jasper`), NULL for local steps. The bulk change's statistics count them.
ALTER TABLE change_log ADD COLUMN system text;

-- Rule 2, carrier plans follow the effective date: a future-dated carrier plan change is sent to the
-- carrier with its date (Jasper `effectiveDate`, ThingSpace `takeEffect`), and kept here until that
-- date. The device row shows the plan in force; the scheduler moves it onto the row on its date.
CREATE TABLE scheduled_carrier_plan_change (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id              bigint NOT NULL REFERENCES tenant,
  device_id              bigint NOT NULL REFERENCES device,
  bulk_change_id         bigint REFERENCES bulk_change ON DELETE CASCADE,
  bulk_change_device_id  bigint REFERENCES bulk_change_device ON DELETE CASCADE,
  carrier_rate_plan      text NOT NULL,
  communication_plan     text,
  effective_date         date NOT NULL,
  status                 text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'applied', 'cancelled')),
  created_by             bigint REFERENCES app_user,
  created_at             timestamptz NOT NULL DEFAULT now(),
  applied_at             timestamptz,
  UNIQUE (bulk_change_device_id)
);
CREATE INDEX scheduled_carrier_plan_change_due_idx ON scheduled_carrier_plan_change (effective_date)
  WHERE status = 'scheduled';
CREATE INDEX scheduled_carrier_plan_change_device_idx ON scheduled_carrier_plan_change (device_id)
  WHERE status = 'scheduled';

-- Rule 8, a refused request leaves a trace: the API still answers 403 and writes nothing to the
-- bulk-change tables, but who tried what, and why it was refused, is kept for administrators.
CREATE TABLE audit_event (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenant,
  at            timestamptz NOT NULL DEFAULT now(),
  user_id       bigint REFERENCES app_user,
  user_email    text,
  action        text NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('refused')),
  customer_id   bigint,
  device_count  integer,
  reason        text NOT NULL,
  details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_tenant_idx ON audit_event (tenant_id, id DESC);

-- Rule 1, a device already owned by another customer: it is refused with its own category unless
-- the request says `reassign`, so that an operator can filter and count them apart.
ALTER TABLE bulk_change_device DROP CONSTRAINT bulk_change_device_error_category_check;
ALTER TABLE bulk_change_device ADD CONSTRAINT bulk_change_device_error_category_check
  CHECK (error_category IN ('eligibility', 'owned', 'permission', 'integration', 'internal'));
