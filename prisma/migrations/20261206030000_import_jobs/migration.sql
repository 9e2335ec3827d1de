-- Large imports with numbers run as Temporal workflows, a batch at a time; the uploaded file is
-- sealed in the vault while the job runs and shredded when it ends.
ALTER TYPE "SecretKind" ADD VALUE 'import_file';

CREATE TYPE "ImportJobStatus" AS ENUM ('queued', 'running', 'cancelling', 'succeeded', 'cancelled', 'failed');

CREATE TABLE "import_jobs" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "actor" JSONB NOT NULL,
    "reason" TEXT NOT NULL,
    "file_secret_id" UUID,
    "encoding" TEXT NOT NULL,
    "rows" INTEGER NOT NULL,
    "registrants" INTEGER NOT NULL,
    "dependents" INTEGER NOT NULL,
    "numbers" INTEGER NOT NULL,
    "batch_size" INTEGER NOT NULL,
    "batches" INTEGER NOT NULL,
    "layout" TEXT NOT NULL,
    "done_batches" INTEGER NOT NULL DEFAULT 0,
    "done_registrants" INTEGER NOT NULL DEFAULT 0,
    "done_numbers" INTEGER NOT NULL DEFAULT 0,
    "status" "ImportJobStatus" NOT NULL DEFAULT 'queued',
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "import_jobs_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "import_jobs_file_secret_id_key" ON "import_jobs"("file_secret_id");
CREATE INDEX "import_jobs_tenant_id_created_at_idx" ON "import_jobs"("tenant_id", "created_at");
CREATE INDEX "import_jobs_status_idx" ON "import_jobs"("status");

ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_file_secret_id_fkey" FOREIGN KEY ("file_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;
