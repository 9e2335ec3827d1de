-- AlterTable
ALTER TABLE "registrants" ADD COLUMN     "sort_kana" TEXT NOT NULL DEFAULT '';

-- The 五十音 order's key, kept by the database so that every way of writing a name (API, CSV, sync,
-- the employee) keeps it right: the kana, or the name itself where the kana is missing.
CREATE FUNCTION registrants_sort_kana() RETURNS trigger AS $$
BEGIN
  NEW.sort_kana := coalesce(nullif(NEW.family_name_kana, ''), NEW.family_name) || ' ' || coalesce(nullif(NEW.given_name_kana, ''), NEW.given_name);
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER registrants_sort_kana BEFORE INSERT OR UPDATE OF family_name, given_name, family_name_kana, given_name_kana, sort_kana ON "registrants"
  FOR EACH ROW EXECUTE FUNCTION registrants_sort_kana();

UPDATE "registrants" SET "sort_kana" = coalesce(nullif("family_name_kana", ''), "family_name") || ' ' || coalesce(nullif("given_name_kana", ''), "given_name");

-- CreateIndex
CREATE INDEX "registrants_tenant_id_sort_kana_idx" ON "registrants"("tenant_id", "sort_kana");
