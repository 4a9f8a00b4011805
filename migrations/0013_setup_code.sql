-- The first-run screen (issue 11, item 1). While the database has no tenant, every API process
-- prints a setup code on its terminal at start, and whoever sets simbind up on the screen must type
-- one: whoever can merely reach a fresh install cannot claim it. One row per code printed (several
-- `api` processes each print their own, and each works). Only the SHA-256 is kept: a code carries
-- 128 random bits, so a fast hash suffices. Creating the first tenant (screen or `simbind init`)
-- deletes every row, so a code stops working and none is printed again.
CREATE TABLE setup_code (
  code_hash   bytea PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now()
);
