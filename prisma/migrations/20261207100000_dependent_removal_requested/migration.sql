-- A dependent the employee took off the list in a change is kept until HR decides (nullable: no rewrite).
ALTER TABLE "dependents" ADD COLUMN "removal_requested_at" TIMESTAMPTZ(3);
