-- A tenant's last history row (the hash each new row chains onto) by index, not by walking the
-- whole table's ids backwards past other tenants' rows.
CREATE INDEX "operation_events_tenant_id_id_idx" ON "operation_events"("tenant_id", "id");
