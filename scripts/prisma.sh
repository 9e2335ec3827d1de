#!/usr/bin/env bash
# The Prisma CLI against the database `npm start` runs (or DATABASE_URL), e.g.
#   npm run prisma -- migrate dev --name add_something
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  if [ ! -f .data/database-url ]; then echo "Start the stack first (npm start) or set DATABASE_URL" >&2; exit 1; fi
  DATABASE_URL="$(cat .data/database-url)"
fi
DATABASE_URL="$DATABASE_URL" exec npx --no-install prisma "$@"
