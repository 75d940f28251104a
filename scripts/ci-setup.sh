#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (shellcheck for the deploy scripts, jq and
# curl for the guide's verification commands, iproute2 for the multi-host namespace test,
# postgresql for the PostgreSQL store and standby-gateway tests, which start their own server, chromium
# for the dashboard's browser tests, driven by playwright-core).
# Does nothing when they are already there; needs root and apt-get otherwise.
set -euo pipefail
need=()
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci-setup: missing ${need[*]} and cannot install them (need root and apt-get); the tests that use them will skip" >&2
  exit 0
fi
echo "ci-setup: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
