-- Contract end: a tenant deleted completely leaves a certificate (no personal data, no foreign key:
-- the tenant is gone).
CREATE TABLE "tenant_deletions" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "tenant_name" TEXT NOT NULL,
    "customer_number" TEXT NOT NULL,
    "executed_at" TIMESTAMPTZ(3) NOT NULL,
    "operator" TEXT NOT NULL,
    "counts" JSONB NOT NULL,
    "digest" TEXT NOT NULL,

    CONSTRAINT "tenant_deletions_pkey" PRIMARY KEY ("id")
);
-- Certificates are written by operators (the owner's role); the app may read them, never change or remove one.
REVOKE UPDATE, DELETE, TRUNCATE ON TABLE "tenant_deletions" FROM mynaflow_app;

-- 操作履歴 stays append-only, except for the transaction of a contract end, which names the tenant
-- whose rows it removes (the app's role has no DELETE on the table at all).
CREATE OR REPLACE FUNCTION operation_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.tenant_id::text = current_setting('mynaflow.deleting_tenant', true) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'operation_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
