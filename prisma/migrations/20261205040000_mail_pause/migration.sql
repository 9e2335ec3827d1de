-- An operator may pause the mail to a tenant's employees (invitations, reminders, remand mails):
-- while set, those mails wait (the workflows retry them) and HR's sends are refused with the reason.
ALTER TABLE "tenants" ADD COLUMN "mail_paused_at" TIMESTAMPTZ(3);
ALTER TABLE "tenants" ADD COLUMN "mail_paused_by" TEXT;
