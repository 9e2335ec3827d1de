-- The company passcode sealed in the vault beside its hash, so that an owner can see it again (behind
-- their password) to tell employees. Passcodes set before this have only the hash: set a new one.
ALTER TYPE "SecretKind" ADD VALUE 'passcode';
ALTER TABLE "tenants" ADD COLUMN "passcode_secret_id" UUID;
CREATE UNIQUE INDEX "tenants_passcode_secret_id_key" ON "tenants"("passcode_secret_id");
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_passcode_secret_id_fkey" FOREIGN KEY ("passcode_secret_id") REFERENCES "vault_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;
