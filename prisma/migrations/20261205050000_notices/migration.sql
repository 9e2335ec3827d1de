-- Notices that close the loop: the employee's receipt on submitting and mail on approval, HR's
-- digest of new submissions. Each is a mail_deliveries row written in the transaction of its event
-- and sent by the reconciler's round; a mail the server refuses for good is `rejected`.
ALTER TYPE "MailStatus" ADD VALUE 'rejected';
CREATE TYPE "SubmissionDigest" AS ENUM ('off', 'hourly', 'daily');
ALTER TABLE "tenants" ADD COLUMN "submission_digest" "SubmissionDigest" NOT NULL DEFAULT 'daily';
ALTER TABLE "tenants" ADD COLUMN "digest_sent_at" TIMESTAMPTZ(3);
ALTER TABLE "tenants" ADD COLUMN "employee_notices" BOOLEAN NOT NULL DEFAULT true;
-- The sender's queue (notices still to send, oldest first) and the dashboard's mails not taken.
CREATE INDEX "mail_deliveries_status_created_at_idx" ON "mail_deliveries"("status", "created_at");
