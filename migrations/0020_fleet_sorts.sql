-- Issue 15, the fleet screen: GET /api/v1/devices sorted by any column a screen shows, a keyset page
-- at a time (the cursor is the last row's sort key and id). A page walks one of these indexes in
-- its order from the cursor on and stops after the page, whatever the fleet's size. A fleet is a
-- provider's: each index leads with the provider (ICCID ranges, plans and statuses follow the
-- carrier, so an index led by the tenant walked the other carriers' devices first: 0.85 s for a
-- page of one provider's ICCIDs on a 1,000,000-device tenant); a tenant-wide list reads each of
-- its few providers' ranges and merges them. Measured figures: the report of issue 15.
--
-- Text keys that are codes (ICCID, MSISDN, plan code) are ordered by "C", bytes: the order must not
-- change with the server's locale, nor stop matching the index on a server whose default collation
-- is not C. The queries say COLLATE "C" too.
CREATE INDEX device_fleet_iccid_idx ON device (service_provider_id, iccid COLLATE "C", id);
CREATE INDEX device_fleet_msisdn_idx ON device (service_provider_id, msisdn COLLATE "C", id);
-- Also a status filter in id order: (provider, status) equal, then ids in order.
CREATE INDEX device_fleet_status_idx ON device (service_provider_id, status, id);
-- Also the carrierRatePlan filter in id order (a plan is often a small part of a fleet).
CREATE INDEX device_fleet_plan_idx ON device (service_provider_id, carrier_rate_plan COLLATE "C", id);
CREATE INDEX device_fleet_activated_idx ON device (service_provider_id, activated_at, id);
CREATE INDEX device_fleet_updated_idx ON device (service_provider_id, updated_at, id);
-- A prefix of device_fleet_status_idx.
DROP INDEX device_provider_status_idx;

-- A customer's devices in id order (the customer sort walks customers by name, then each one's
-- devices by id; the customerId filter and its count read the same range), and a site's.
CREATE INDEX device_tenant_owner_device_idx ON device_tenant (tenant_id, customer_id, device_id)
  WHERE is_active AND NOT is_deleted;
CREATE INDEX device_tenant_site_device_idx ON device_tenant (tenant_id, site_id, device_id)
  WHERE is_active AND NOT is_deleted;

-- The device page lists every Rev.io line a device ever had (created, failed, disconnected), not
-- only the active ones rev_service_device_idx holds. Written once per device on the Rev.io path,
-- whose pace is Rev.io's rate limit: the index costs that path nothing measurable.
CREATE INDEX rev_service_device_all_idx ON rev_service (tenant_id, device_id);
