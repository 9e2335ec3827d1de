-- AlterTable
ALTER TABLE "registrants" ADD COLUMN     "workflow_start" JSONB;
