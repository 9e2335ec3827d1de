-- Replaced by (tenant_id, status, retired), which serves the same status filters. Dropped without
-- blocking reads or writes; alone in its migration, as CONCURRENTLY must be.
DROP INDEX CONCURRENTLY IF EXISTS "registrants_tenant_id_status_idx";
