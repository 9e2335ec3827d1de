-- Wrong passwords for an address without an account (or with several, named without a customer
-- number) are counted and locked like an account's, so a 423 does not tell that an account exists.
CREATE TABLE "unknown_login_locks" (
    "address_key" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "locks" INTEGER NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "unknown_login_locks_pkey" PRIMARY KEY ("address_key","source")
);

CREATE INDEX "unknown_login_locks_updated_at_idx" ON "unknown_login_locks"("updated_at");
