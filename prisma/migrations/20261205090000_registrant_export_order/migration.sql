-- The registrant CSV export streams its people a page at a time in the file's order (employee
-- code, NULLs last as an ascending index keeps them; then added; then id): each page is read from
-- this index instead of sorting the tenant again (100,000 people: 34 s → see README).
CREATE INDEX "registrants_tenant_id_employee_code_created_at_id_idx" ON "registrants"("tenant_id", "employee_code", "created_at", "id");
-- The people without a code, by (added, id): an IS NULL condition does not let PostgreSQL read
-- the index above in that order, so they have their own.
CREATE INDEX "registrants_tenant_id_created_at_id_idx" ON "registrants"("tenant_id", "created_at", "id");
