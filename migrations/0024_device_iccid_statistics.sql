-- GET /devices?q= with a long ICCID prefix (15 digits, a few hundred matches) sometimes took
-- 90–200 ms instead of 0.4: the ICCIDs of a fleet share their first 10–12 digits, so the default
-- histogram (100 buckets) cannot tell a 15-digit prefix from a 10-digit one and estimated ~8,000
-- matches on 1,000,000 devices (350 real). With that many, the planner walks device_pkey in id
-- order for the page's 51 rows, filtering as it goes, and read 472,000 rows to find them. 2,000
-- buckets estimate ~240 and take the (tenant_id, iccid text_pattern_ops) index: 0.4 ms (measured on
-- the reads benchmark's fleet, PostgreSQL 18, bench/reads.bench.ts, issue 13 B5). ANALYZE then
-- samples 600,000 rows instead of 30,000 for this column: ~2 s on that fleet, in the background.
ALTER TABLE device ALTER COLUMN iccid SET STATISTICS 2000;
ANALYZE device (iccid);
