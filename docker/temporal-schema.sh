#!/bin/sh
# Temporal's schemas in the Docker deployment (the `temporal-schema` service, admin-tools image), as
# `npm run cluster` sets them up (services/devstack/temporal-database.ts): each database created if
# missing, set up at 0.0 on first use, then brought to the version the image ships. Idempotent.
set -eu
SCHEMA=/etc/temporal/schema/postgresql/v12
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  dir=${pair##*:}
  temporal-sql-tool --db "$db" create-database 2>/dev/null || echo "[temporal-schema] $db exists"
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "[temporal-schema] schemas up to date"
