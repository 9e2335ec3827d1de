-- HOME's counts (registrants by status, and the retirees among them) read from the index alone.
-- Built without blocking writes to registrants; alone in its migration, as CONCURRENTLY must be
-- (outside a transaction). The (tenant, status) index it replaces goes in the next migration.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "registrants_tenant_id_status_retired_idx" ON "registrants"("tenant_id", "status", "retired");
