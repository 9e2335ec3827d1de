-- A login user's new e-mail address waits here until its owner confirms it by the mailed link
-- (only the link token's SHA-256 is kept); login goes on using "email" until then.
ALTER TABLE "login_users" ADD COLUMN "pending_email" TEXT;
ALTER TABLE "login_users" ADD COLUMN "pending_email_token_hash" TEXT;
ALTER TABLE "login_users" ADD COLUMN "pending_email_expires_at" TIMESTAMPTZ(3);
CREATE UNIQUE INDEX "login_users_pending_email_token_hash_key" ON "login_users"("pending_email_token_hash");
