-- Idempotency records are kept for a day (the reconciler removes older ones).
CREATE INDEX "idempotency_records_created_at_idx" ON "idempotency_records"("created_at");
