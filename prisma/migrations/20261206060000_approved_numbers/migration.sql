-- The number payroll is served: the one HR last approved (or verified), kept while a change the
-- employee submitted waits for approval (a baby added must not cost payroll the parent's number).
-- It is usually the same secret as my_number_secret_id; both are shredded with the person's data.
ALTER TABLE "registrants" ADD COLUMN "approved_number_secret_id" UUID;
ALTER TABLE "dependents" ADD COLUMN "approved_number_secret_id" UUID;
CREATE UNIQUE INDEX "registrants_approved_number_secret_id_key" ON "registrants"("approved_number_secret_id");
CREATE UNIQUE INDEX "dependents_approved_number_secret_id_key" ON "dependents"("approved_number_secret_id");
ALTER TABLE "registrants" ADD CONSTRAINT "registrants_approved_number_secret_id_fkey" FOREIGN KEY ("approved_number_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "dependents" ADD CONSTRAINT "dependents_approved_number_secret_id_fkey" FOREIGN KEY ("approved_number_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;
-- Everyone completed today was approved (or verified by HR) with the number they have.
UPDATE "registrants" SET "approved_number_secret_id" = "my_number_secret_id" WHERE "status" = 'completed' AND "my_number_secret_id" IS NOT NULL;
UPDATE "dependents" SET "approved_number_secret_id" = "my_number_secret_id" WHERE "status" = 'completed' AND "my_number_secret_id" IS NOT NULL;
