-- A message refused once is quarantined once: the same bytes posted again (a re-sent EDIFACT
-- file) add no second entry. Rows from before this migration have no digest and stay as they are.
ALTER TABLE ds_quarantine ADD COLUMN content_sha256 TEXT;
CREATE UNIQUE INDEX ds_quarantine_once ON ds_quarantine(entity_id, terminal, reason_code, content_sha256);
