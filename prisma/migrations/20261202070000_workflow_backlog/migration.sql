-- AlterTable
ALTER TABLE "registrants" ADD COLUMN     "workflow_pending_since" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "registrants_workflow_pending_since_idx" ON "registrants"("workflow_pending_since");
