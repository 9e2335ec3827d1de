-- Sandbox tenants (vendors' test companies): invented numbers only. Set at creation, never changed,
-- so a real company can never become one (or the reverse) with its data and credentials.
ALTER TABLE "tenants" ADD COLUMN "sandbox" BOOLEAN NOT NULL DEFAULT false;

CREATE FUNCTION "tenants_sandbox_fixed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."sandbox" IS DISTINCT FROM OLD."sandbox" THEN
    RAISE EXCEPTION 'a tenant''s sandbox flag is fixed at creation' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "tenants_sandbox_fixed" BEFORE UPDATE OF "sandbox" ON "tenants"
  FOR EACH ROW EXECUTE FUNCTION "tenants_sandbox_fixed"();
