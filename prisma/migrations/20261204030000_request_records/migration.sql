-- CreateTable
CREATE TABLE "request_records" (
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "response" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "request_records_pkey" PRIMARY KEY ("scope","key")
);

-- CreateIndex
CREATE INDEX "request_records_created_at_idx" ON "request_records"("created_at");
