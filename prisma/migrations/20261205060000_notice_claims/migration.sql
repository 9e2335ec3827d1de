-- The notice sender claims a row before handing it to SMTP (a round overrunning its attempt, or
-- two rounds at once, never send the same notice twice) and counts the tries a mail server put off.
ALTER TABLE "mail_deliveries" ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "mail_deliveries" ADD COLUMN "claimed_until" TIMESTAMPTZ(3);
