-- CreateEnum
CREATE TYPE "SecretKind" AS ENUM ('my_number', 'document', 'totp');

-- CreateEnum
CREATE TYPE "SecurityCodePurpose" AS ENUM ('login', 'password_reset', 'customer_number', 'email_method');

-- AlterTable
ALTER TABLE "dependents" ADD COLUMN     "my_number_secret_id" UUID;

-- AlterTable
ALTER TABLE "documents" ADD COLUMN     "image_secret_id" UUID;

-- AlterTable
ALTER TABLE "login_users" DROP COLUMN "totp_secret",
ADD COLUMN     "password_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "pending_totp_secret_id" UUID,
ADD COLUMN     "totp_last_step" BIGINT,
ADD COLUMN     "totp_secret_id" UUID;

-- AlterTable
ALTER TABLE "registrants" ADD COLUMN     "my_number_secret_id" UUID;

-- CreateTable
CREATE TABLE "vault_secrets" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "kind" "SecretKind" NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "iv" BYTEA NOT NULL,
    "auth_tag" BYTEA NOT NULL,
    "wrapped_key" BYTEA NOT NULL,
    "key_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "vault_secrets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,
    "login_user_id" UUID NOT NULL,
    "csrf_token" TEXT NOT NULL,
    "second_factor_done" BOOLEAN NOT NULL DEFAULT false,
    "ip" TEXT,
    "user_agent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "security_codes" (
    "id" UUID NOT NULL,
    "login_user_id" UUID NOT NULL,
    "purpose" "SecurityCodePurpose" NOT NULL,
    "code_hash" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "security_codes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "vault_secrets_key_id_idx" ON "vault_secrets"("key_id");

-- CreateIndex
CREATE INDEX "vault_secrets_tenant_id_idx" ON "vault_secrets"("tenant_id");

-- CreateIndex
CREATE INDEX "sessions_login_user_id_idx" ON "sessions"("login_user_id");

-- CreateIndex
CREATE INDEX "security_codes_login_user_id_purpose_idx" ON "security_codes"("login_user_id", "purpose");

-- CreateIndex
CREATE UNIQUE INDEX "dependents_my_number_secret_id_key" ON "dependents"("my_number_secret_id");

-- CreateIndex
CREATE UNIQUE INDEX "documents_image_secret_id_key" ON "documents"("image_secret_id");

-- CreateIndex
CREATE UNIQUE INDEX "login_users_totp_secret_id_key" ON "login_users"("totp_secret_id");

-- CreateIndex
CREATE UNIQUE INDEX "login_users_pending_totp_secret_id_key" ON "login_users"("pending_totp_secret_id");

-- CreateIndex
CREATE UNIQUE INDEX "registrants_my_number_secret_id_key" ON "registrants"("my_number_secret_id");

-- AddForeignKey
ALTER TABLE "login_users" ADD CONSTRAINT "login_users_totp_secret_id_fkey" FOREIGN KEY ("totp_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "login_users" ADD CONSTRAINT "login_users_pending_totp_secret_id_fkey" FOREIGN KEY ("pending_totp_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registrants" ADD CONSTRAINT "registrants_my_number_secret_id_fkey" FOREIGN KEY ("my_number_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dependents" ADD CONSTRAINT "dependents_my_number_secret_id_fkey" FOREIGN KEY ("my_number_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "documents" ADD CONSTRAINT "documents_image_secret_id_fkey" FOREIGN KEY ("image_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_login_user_id_fkey" FOREIGN KEY ("login_user_id") REFERENCES "login_users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "security_codes" ADD CONSTRAINT "security_codes_login_user_id_fkey" FOREIGN KEY ("login_user_id") REFERENCES "login_users"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- 操作履歴 is append-only: the database itself refuses to change or remove a row.
CREATE FUNCTION operation_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'operation_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER operation_events_no_update_or_delete
  BEFORE UPDATE OR DELETE ON "operation_events"
  FOR EACH ROW EXECUTE FUNCTION operation_events_append_only();

CREATE TRIGGER operation_events_no_truncate
  BEFORE TRUNCATE ON "operation_events"
  FOR EACH STATEMENT EXECUTE FUNCTION operation_events_append_only();
