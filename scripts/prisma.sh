#!/usr/bin/env bash
# The Prisma CLI against the database `npm start` runs (or DATABASE_URL), as the database's owner
# (the app's own role may not change the schema), e.g.
#   npm run prisma -- migrate dev --name add_something
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  if [ ! -f .data/database-owner-url ]; then echo "Start the stack first (npm start) or set DATABASE_URL (the owner's)" >&2; exit 1; fi
  DATABASE_URL="$(cat .data/database-owner-url)"
fi
DATABASE_URL="$DATABASE_URL" exec npx --no-install prisma "$@"
