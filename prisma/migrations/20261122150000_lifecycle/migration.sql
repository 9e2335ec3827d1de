-- CreateEnum
CREATE TYPE "InvitationState" AS ENUM ('open', 'submitted', 'expired', 'withdrawn', 'closed');

-- CreateEnum
CREATE TYPE "DeletionScope" AS ENUM ('numbers', 'all_personal_data');

-- CreateEnum
CREATE TYPE "DeletionKind" AS ENUM ('numbers', 'registrant', 'dependent');

-- AlterEnum
ALTER TYPE "SecretKind" ADD VALUE 'draft';

-- AlterTable
ALTER TABLE "dependents" ADD COLUMN     "draft" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "documents" ADD COLUMN     "draft" BOOLEAN NOT NULL DEFAULT true;

-- AlterTable
ALTER TABLE "registrants" ADD COLUMN     "deletion_rule" TEXT,
ADD COLUMN     "draft_secret_id" UUID,
ADD COLUMN     "invitation_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "invitation_state" "InvitationState",
ADD COLUMN     "retired" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "submitted_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "deletion_scope" "DeletionScope" NOT NULL DEFAULT 'all_personal_data',
ADD COLUMN     "retention_rule" TEXT NOT NULL DEFAULT 'dependents_declaration_7y';

-- CreateTable
CREATE TABLE "deletion_records" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "registrant_id" UUID NOT NULL,
    "registrant_label" TEXT NOT NULL,
    "dependent_id" UUID,
    "kind" "DeletionKind" NOT NULL,
    "items" JSONB NOT NULL,
    "rule" TEXT NOT NULL,
    "due_date" DATE,
    "actor_type" "ActorType" NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "step_key" TEXT NOT NULL,
    "executed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deletion_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "applied_steps" (
    "key" TEXT NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "applied_steps_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "deletion_records_step_key_key" ON "deletion_records"("step_key");

-- CreateIndex
CREATE INDEX "deletion_records_tenant_id_executed_at_idx" ON "deletion_records"("tenant_id", "executed_at");

-- CreateIndex
CREATE UNIQUE INDEX "registrants_draft_secret_id_key" ON "registrants"("draft_secret_id");

-- AddForeignKey
ALTER TABLE "registrants" ADD CONSTRAINT "registrants_draft_secret_id_fkey" FOREIGN KEY ("draft_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;


-- Documents stored before drafts existed were submitted ones.
UPDATE "documents" SET "draft" = false;
-- Invitations issued before the state was mirrored.
UPDATE "registrants" r SET "invitation_state" = 'open', "invitation_expires_at" = i.expires_at
FROM (SELECT registrant_id, max(expires_at) AS expires_at FROM "invitations" WHERE revoked_at IS NULL GROUP BY registrant_id) i
WHERE i.registrant_id = r.id;
