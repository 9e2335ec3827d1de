-- 提出期限: the day HR asks the person to have registered by (shown in the mails and on the
-- employee's pages; HOME lists who passed it without sending).
ALTER TABLE "registrants" ADD COLUMN "submission_due_date" DATE;
