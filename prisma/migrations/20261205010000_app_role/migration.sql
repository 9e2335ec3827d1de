-- Least privilege: the API and worker connect as mynaflow_app, which owns nothing. It may read and
-- write the tables, but it cannot change the schema, drop or disable the append-only triggers (that
-- takes ownership), read the migration log or run COPY … TO PROGRAM (it is no superuser). On the
-- operation history it may only INSERT and SELECT. Migrations keep running as the owner role.
-- The role is cluster-wide: created here when missing (the migration role needs CREATEROLE, or an
-- administrator creates it beforehand); its password is set by the set-up (services/db/app-role.ts).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mynaflow_app') THEN
    CREATE ROLE mynaflow_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
EXCEPTION
  -- another database of the cluster migrating at the same moment created it first
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Before PostgreSQL 15 every role could create tables in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO mynaflow_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mynaflow_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mynaflow_app;
-- (the migration log is absent where migrations are replayed without it: Prisma's shadow database)
DO $$
BEGIN
  IF to_regclass('_prisma_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE _prisma_migrations FROM mynaflow_app;
  END IF;
END
$$;
REVOKE UPDATE, DELETE, TRUNCATE ON TABLE operation_events FROM mynaflow_app;
-- Tables and sequences later migrations create (as this same owner role) are granted alike.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO mynaflow_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO mynaflow_app;
