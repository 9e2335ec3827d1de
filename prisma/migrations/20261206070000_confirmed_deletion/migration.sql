-- A tenant chooses automatic deletion on the due date (as before) or HR-confirmed deletion: then the
-- person waits on the due date (deletion_awaiting_since) and HR is reminded until it confirms.
CREATE TYPE "DeletionMode" AS ENUM ('automatic', 'confirmed');
ALTER TABLE "tenants" ADD COLUMN "deletion_mode" "DeletionMode" NOT NULL DEFAULT 'automatic';
ALTER TABLE "tenants" ADD COLUMN "deletion_reminder_sent_at" TIMESTAMPTZ(3);
ALTER TABLE "registrants" ADD COLUMN "deletion_awaiting_since" TIMESTAMPTZ(3);
