-- AlterTable
ALTER TABLE "mail_deliveries" ADD COLUMN     "recorded_at" TIMESTAMPTZ(3);

-- Mails sent before this release were recorded in the same transaction as "sent".
UPDATE "mail_deliveries" SET "recorded_at" = "sent_at" WHERE "status" = 'sent';
