-- A change to an approved person keeps the approved identity documents it replaces until HR
-- decides (a refusal puts them back), and marks the ones it brings (a refusal shreds them).
-- Both columns are metadata-only additions (nullable, or a constant default): no table rewrite.
ALTER TABLE "documents" ADD COLUMN "superseded_at" TIMESTAMPTZ(3);
ALTER TABLE "documents" ADD COLUMN "pending_change" BOOLEAN NOT NULL DEFAULT false;
