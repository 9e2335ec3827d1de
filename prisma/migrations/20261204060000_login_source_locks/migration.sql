-- Wrong passwords lock one source out of an account, not the account; second-factor failures are
-- counted across logins.
ALTER TABLE "login_users" ADD COLUMN "second_factor_failures" INTEGER NOT NULL DEFAULT 0;

CREATE TABLE "login_source_locks" (
    "login_user_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "locks" INTEGER NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "login_source_locks_pkey" PRIMARY KEY ("login_user_id","source")
);

ALTER TABLE "login_source_locks" ADD CONSTRAINT "login_source_locks_login_user_id_fkey" FOREIGN KEY ("login_user_id") REFERENCES "login_users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
