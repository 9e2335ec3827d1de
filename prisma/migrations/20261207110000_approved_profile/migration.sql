-- What a change not decided yet replaced (gender, birth date; a dependent's names too): a refusal restores it.
ALTER TABLE "registrants" ADD COLUMN "approved_profile" JSONB;
ALTER TABLE "dependents" ADD COLUMN "approved_profile" JSONB;
