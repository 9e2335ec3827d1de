-- HOME's counts (registrants by status, and the retirees among them) read from the index alone:
-- the retired flag joins the (tenant, status) index it replaces, which keeps serving status filters.
DROP INDEX "registrants_tenant_id_status_idx";

CREATE INDEX "registrants_tenant_id_status_retired_idx" ON "registrants"("tenant_id", "status", "retired");
