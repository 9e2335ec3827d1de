-- CreateEnum
CREATE TYPE "Purpose" AS ENUM ('withholding_slip', 'employment_insurance', 'health_insurance_pension', 'workers_compensation', 'category3_pension', 'property_savings', 'dividends', 'real_estate', 'contractor_payments');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('owner', 'manager', 'viewer');

-- CreateEnum
CREATE TYPE "UserKind" AS ENUM ('staff', 'professional');

-- CreateEnum
CREATE TYPE "TwoFactorMethod" AS ENUM ('email', 'totp');

-- CreateEnum
CREATE TYPE "RegistrantCategory" AS ENUM ('employee', 'part_time', 'contractor', 'payee');

-- CreateEnum
CREATE TYPE "Status" AS ENUM ('unregistered', 'pending', 'remanded', 'refused', 'completed');

-- CreateEnum
CREATE TYPE "Gender" AS ENUM ('male', 'female', 'other');

-- CreateEnum
CREATE TYPE "DependentKind" AS ENUM ('dependent', 'category3');

-- CreateEnum
CREATE TYPE "DocumentPurpose" AS ENUM ('number_confirmation', 'identity');

-- CreateEnum
CREATE TYPE "DocumentType" AS ENUM ('my_number_card', 'notification_card', 'resident_record', 'drivers_licence', 'passport', 'residence_card', 'health_insurance_card', 'pension_book', 'other');

-- CreateEnum
CREATE TYPE "DocumentSide" AS ENUM ('front', 'back');

-- CreateEnum
CREATE TYPE "ActorType" AS ENUM ('login_user', 'registrant', 'api_client', 'system');

-- CreateEnum
CREATE TYPE "MailStatus" AS ENUM ('sending', 'sent');

-- CreateTable
CREATE TABLE "tenants" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "customer_number" TEXT NOT NULL,
    "corporate_number" CHAR(13),
    "passcode_hash" TEXT,
    "purposes" "Purpose"[] DEFAULT ARRAY['withholding_slip', 'employment_insurance', 'health_insurance_pension', 'workers_compensation', 'category3_pension', 'property_savings', 'dividends', 'real_estate', 'contractor_payments']::"Purpose"[],
    "reminder_days" INTEGER[] DEFAULT ARRAY[7, 30, 80]::INTEGER[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "login_users" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "kind" "UserKind" NOT NULL DEFAULT 'staff',
    "two_factor_method" "TwoFactorMethod" NOT NULL DEFAULT 'email',
    "totp_secret" BYTEA,
    "failed_logins" INTEGER NOT NULL DEFAULT 0,
    "locked_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "login_users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "groups" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registrants" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "group_id" UUID,
    "category" "RegistrantCategory" NOT NULL DEFAULT 'employee',
    "employee_code" TEXT,
    "family_name" TEXT NOT NULL,
    "given_name" TEXT NOT NULL,
    "family_name_kana" TEXT,
    "given_name_kana" TEXT,
    "email" TEXT,
    "birth_date" DATE,
    "gender" "Gender",
    "hire_date" DATE,
    "retirement_date" DATE,
    "deletion_due_date" DATE,
    "note" TEXT,
    "status" "Status" NOT NULL DEFAULT 'unregistered',
    "status_reason" TEXT,
    "login_locked" BOOLEAN NOT NULL DEFAULT false,
    "password_hash" TEXT,
    "workflow_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "registrants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dependents" (
    "id" UUID NOT NULL,
    "registrant_id" UUID NOT NULL,
    "relationship" TEXT NOT NULL,
    "kind" "DependentKind" NOT NULL DEFAULT 'dependent',
    "family_name" TEXT NOT NULL,
    "given_name" TEXT NOT NULL,
    "family_name_kana" TEXT,
    "given_name_kana" TEXT,
    "birth_date" DATE,
    "gender" "Gender",
    "status" "Status" NOT NULL DEFAULT 'unregistered',
    "status_reason" TEXT,
    "no_longer_dependent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "dependents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "documents" (
    "id" UUID NOT NULL,
    "registrant_id" UUID NOT NULL,
    "dependent_id" UUID,
    "purpose" "DocumentPurpose" NOT NULL,
    "type" "DocumentType" NOT NULL,
    "side" "DocumentSide" NOT NULL DEFAULT 'front',
    "mime_type" TEXT NOT NULL,
    "byte_size" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "documents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invitations" (
    "id" UUID NOT NULL,
    "registrant_id" UUID NOT NULL,
    "issue_key" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "message" TEXT,
    "reply_to" TEXT,
    "copy_to" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consents" (
    "id" UUID NOT NULL,
    "registrant_id" UUID NOT NULL,
    "purpose" "Purpose" NOT NULL,
    "consented_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ip" TEXT,
    "user_agent" TEXT,

    CONSTRAINT "consents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "operation_events" (
    "id" BIGSERIAL NOT NULL,
    "tenant_id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" "ActorType" NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "registrant_id" UUID,
    "registrant_label" TEXT,
    "operation" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "purpose" "Purpose",
    "ip" TEXT,
    "user_agent" TEXT,
    "detail" JSONB,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "operation_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_clients" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "allowed_purposes" "Purpose"[],
    "ip_allowlist" TEXT[],
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_clients_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mail_deliveries" (
    "key" TEXT NOT NULL,
    "status" "MailStatus" NOT NULL DEFAULT 'sending',
    "recipient" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "message_id" TEXT,
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mail_deliveries_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "tenants_customer_number_key" ON "tenants"("customer_number");

-- CreateIndex
CREATE INDEX "login_users_email_idx" ON "login_users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "login_users_tenant_id_email_key" ON "login_users"("tenant_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "groups_tenant_id_name_key" ON "groups"("tenant_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "registrants_workflow_id_key" ON "registrants"("workflow_id");

-- CreateIndex
CREATE INDEX "registrants_tenant_id_status_idx" ON "registrants"("tenant_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "registrants_tenant_id_employee_code_key" ON "registrants"("tenant_id", "employee_code");

-- CreateIndex
CREATE INDEX "dependents_registrant_id_idx" ON "dependents"("registrant_id");

-- CreateIndex
CREATE INDEX "documents_registrant_id_idx" ON "documents"("registrant_id");

-- CreateIndex
CREATE UNIQUE INDEX "invitations_issue_key_key" ON "invitations"("issue_key");

-- CreateIndex
CREATE UNIQUE INDEX "invitations_token_hash_key" ON "invitations"("token_hash");

-- CreateIndex
CREATE INDEX "invitations_registrant_id_idx" ON "invitations"("registrant_id");

-- CreateIndex
CREATE UNIQUE INDEX "consents_registrant_id_purpose_key" ON "consents"("registrant_id", "purpose");

-- CreateIndex
CREATE UNIQUE INDEX "operation_events_hash_key" ON "operation_events"("hash");

-- CreateIndex
CREATE INDEX "operation_events_tenant_id_occurred_at_idx" ON "operation_events"("tenant_id", "occurred_at");

-- CreateIndex
CREATE INDEX "operation_events_tenant_id_registrant_id_idx" ON "operation_events"("tenant_id", "registrant_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_clients_client_id_key" ON "api_clients"("client_id");

-- AddForeignKey
ALTER TABLE "login_users" ADD CONSTRAINT "login_users_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "groups" ADD CONSTRAINT "groups_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registrants" ADD CONSTRAINT "registrants_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registrants" ADD CONSTRAINT "registrants_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "groups"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dependents" ADD CONSTRAINT "dependents_registrant_id_fkey" FOREIGN KEY ("registrant_id") REFERENCES "registrants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "documents" ADD CONSTRAINT "documents_registrant_id_fkey" FOREIGN KEY ("registrant_id") REFERENCES "registrants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "documents" ADD CONSTRAINT "documents_dependent_id_fkey" FOREIGN KEY ("dependent_id") REFERENCES "dependents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_registrant_id_fkey" FOREIGN KEY ("registrant_id") REFERENCES "registrants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "consents" ADD CONSTRAINT "consents_registrant_id_fkey" FOREIGN KEY ("registrant_id") REFERENCES "registrants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_clients" ADD CONSTRAINT "api_clients_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
