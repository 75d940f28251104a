#!/usr/bin/env bash
# Set up the native IB host: a function host advertising the `ib` capability, so ib-fetch runs only
# here, next to the IB Gateway/TWS it talks to. Run on that machine as root.
set -euo pipefail
export SCRIPT_NAME=setup-ib-host
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
# shellcheck source=_native.sh
source "$(dirname "${BASH_SOURCE[0]}")/_native.sh"

usage() {
  cat <<USAGE
Usage: $0 --api-url URL --address ADDR [options]

  --api-url URL        the gateway, e.g. http://192.168.1.100:8000
  --address ADDR       this machine's routable address, e.g. 192.168.1.21
  --worker-id ID       (default: ib-host-1)
  --port N             (default: 5001, the guide's IB host port)
  --ib-host HOST       IB Gateway/TWS address (default: 127.0.0.1)
  --ib-port N          IB API port (default: 4002 = IB Gateway paper; 4001 live, 7497/7496 TWS)
  --ib-client-id N     API client id, unique per IB Gateway connection (default: 1)
  --source DIR         checkout to install into /opt/ktrdr (default: this checkout)
  --node-tarball FILE  official Node.js 20 tarball, when node >= 20 is missing
  --set KEY=VALUE      extra host.env setting (repeatable)
  --wait-timeout S     (default: 180)
  --dry-run            print every command instead of running it
  -h, --help           this text

Secrets from the environment: KTRDR_CLUSTER_TOKEN (host.env), KTRDR_API_TOKEN (curl).
USAGE
}

worker_id=ib-host-1 port=5001 ib_host=127.0.0.1 ib_port=4002 ib_client_id=1
while [[ $# -gt 0 ]]; do
  if native_option "$@"; then shift "$NATIVE_SHIFT"; continue; fi
  case "$1" in
    --ib-host) need_value "$@"; ib_host="$2"; shift 2 ;;
    --ib-port) need_value "$@"; ib_port="$2"; shift 2 ;;
    --ib-client-id) need_value "$@"; ib_client_id="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
native_check_options "$ib_port" "$ib_client_id"

# The IB Gateway need not be up yet (ib-fetch reports it per call), but say so now.
if [[ "$DRY_RUN" != 1 ]] && ! timeout 3 bash -c "exec 3<>/dev/tcp/$ib_host/$ib_port" 2>/dev/null; then
  warn "nothing listens on $ib_host:$ib_port yet: start IB Gateway/TWS with the API enabled (ib-fetch fails until then)"
fi

native_install

settings=("KTRDR_API_URL=$api_url" "WORKER_ID=$worker_id" "WORKER_PORT=$port"
  "WORKER_ENDPOINT_URL=http://$address:$port" "IB_HOST=$ib_host" "IB_PORT=$ib_port"
  "IB_CLIENT_ID=$ib_client_id" "KTRDR_CLUSTER_TOKEN=${KTRDR_CLUSTER_TOKEN:-}")
settings+=("${extra[@]}")
native_service "$KTRDR_DEPLOY_DIR/env/ib-host.env.example" "${settings[@]}"

native_wait_capability ib "with the ib capability: journalctl -u ktrdr-host -n 50"
log "IB host $worker_id ready"
