#!/bin/sh
# Database roles of the Docker deployment, run by the `db-roles` service on every `up`, as the
# cluster's administrator (PGHOST/PGUSER/PGPASSWORD). Idempotent.
# - temporal: Temporal's own login, which creates and owns its two databases and nothing else. A
#   deployment whose earlier version let Temporal use the administrator has those databases and
#   their tables handed over to it here.
# - The app role (mynaflow_app) is made by the app's migration and given its password by the
#   `migrate` service; here it only loses the right to connect to Temporal's databases.
set -eu
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is required}"

psql -v ON_ERROR_STOP=1 -q -v pw="$TEMPORAL_DB_PASSWORD" -d postgres <<'SQL'
SELECT 'CREATE ROLE temporal' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') \gexec
SELECT format('ALTER ROLE temporal WITH LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD %L', :'pw') \gexec
SELECT format('ALTER DATABASE %I OWNER TO temporal', datname) FROM pg_database
  WHERE datname IN ('temporal', 'temporal_visibility') AND pg_get_userbyid(datdba) <> 'temporal' \gexec
SELECT format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', datname) FROM pg_database
  WHERE datname IN ('temporal', 'temporal_visibility') \gexec
SQL

for db in temporal temporal_visibility; do
  exists=$(psql -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
  [ "$exists" = 1 ] || continue
  # Tables, sequences, views and functions in public made by another role become Temporal's.
  psql -v ON_ERROR_STOP=1 -q -d "$db" <<'SQL'
SELECT format('ALTER TABLE public.%I OWNER TO temporal', c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(c.relowner) <> 'temporal' \gexec
SELECT format('ALTER SEQUENCE public.%I OWNER TO temporal', c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> 'temporal'
    AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) \gexec
SELECT format('ALTER FUNCTION public.%I(%s) OWNER TO temporal', p.proname, pg_get_function_identity_arguments(p.oid)) FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'temporal' \gexec
SQL
done
echo "[db-roles] temporal role ready"
