-- When the employee first opened each link (the timeline's "opened", the dashboard's "never opened").
ALTER TABLE "invitations" ADD COLUMN "opened_at" TIMESTAMPTZ(3);
