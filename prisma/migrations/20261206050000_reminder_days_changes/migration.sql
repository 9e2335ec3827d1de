-- A change of a tenant's reminder days reaches the people already invited: the change is marked in
-- its own transaction and the reconciler's round tells their workflows, then clears the mark.
ALTER TABLE "tenants" ADD COLUMN "reminder_days_changed_at" TIMESTAMPTZ(3);
