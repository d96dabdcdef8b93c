-- Outbox claims with leases (several gateway replicas on one database).
-- A replica that claims an operation (status `sending`) writes its id and the lease's expiry;
-- it renews the lease while the call is in flight. Only an expired lease is taken back, so a
-- starting replica never re-sends what a live one is sending. Rows left `sending` by a version
-- without leases have no expiry and count as expired.
ALTER TABLE operations ADD COLUMN lease_owner TEXT;
ALTER TABLE operations ADD COLUMN lease_until BIGINT;
CREATE INDEX operations_lease ON operations(status, lease_until);
