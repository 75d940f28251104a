#!/usr/bin/env bash
# Provision the gateway container (the guide's "backend LXC"): clone the template, size it, give it
# a static IP, deploy the code, write /etc/ktrdr/gateway.env, install and start
# ktrdr-gateway.service, and wait until /api/v1/health answers on its address.
set -euo pipefail
export SCRIPT_NAME=provision-gateway
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
  cat <<USAGE
Usage: $0 --ctid N --ip ADDR/PREFIX [options]

  --ctid N            container id (guide: 100)
  --ip ADDR/PREFIX    static address, e.g. 192.168.1.100/24
  --gw ADDR           default gateway of the network (optional)
  --bridge NAME       (default: vmbr0)
  --port N            API port (default: 8000)
  --cores N           (default: 4)
  --memory-gb N       (default: 8)
  --template N        template container id (default: 900)
  --snapname NAME     template snapshot to clone (default: template-base)
  --hostname NAME     (default: ktrdr-gateway)
  --mp-root DIR       Proxmox-host directory with the NFS-mounted storage (see deploy/nfs/README.md)
  --set KEY=VALUE     extra gateway.env setting (repeatable), e.g. KTRDR_WORKER_REMOVAL_THRESHOLD=600
  --source DIR        code to deploy (default: this checkout)
  --wait-timeout S    (default: 120)
  --dry-run           print every command instead of running it
  -h, --help          this text

Tokens come from the environment: KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN (both required: the
gateway refuses a non-loopback bind without them). Generate each with: openssl rand -hex 32
Safe to re-run: an existing container is reconfigured; the env file and unit are rewritten.
USAGE
}

ctid="" ip="" gw="" bridge=vmbr0 port=8000 cores=4 memory_gb=8 template=900 snapname=template-base
hostname=ktrdr-gateway mp_root="" source_dir="$KTRDR_REPO_DIR" wait_timeout=120
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ctid) need_value "$@"; ctid="$2"; shift 2 ;;
    --ip) need_value "$@"; ip="$2"; shift 2 ;;
    --gw) need_value "$@"; gw="$2"; shift 2 ;;
    --bridge) need_value "$@"; bridge="$2"; shift 2 ;;
    --port) need_value "$@"; port="$2"; shift 2 ;;
    --cores) need_value "$@"; cores="$2"; shift 2 ;;
    --memory-gb) need_value "$@"; memory_gb="$2"; shift 2 ;;
    --template) need_value "$@"; template="$2"; shift 2 ;;
    --snapname) [[ $# -ge 2 ]] || die "--snapname needs a value"; snapname="$2"; shift 2 ;;
    --hostname) need_value "$@"; hostname="$2"; shift 2 ;;
    --mp-root) need_value "$@"; mp_root="$2"; shift 2 ;;
    --set) need_value "$@"; extra+=("$2"); shift 2 ;;
    --source) need_value "$@"; source_dir="$2"; shift 2 ;;
    --wait-timeout) need_value "$@"; wait_timeout="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n "$ctid" && -n "$ip" ]] || { usage >&2; die "--ctid and --ip are required"; }
for n in "$ctid" "$port" "$cores" "$memory_gb" "$template" "$wait_timeout"; do is_uint "$n" || die "'$n' is not a number"; done
[[ "$ip" =~ ^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)/([0-9]+)$ ]] || die "--ip must look like 192.168.1.100/24"
addr="${BASH_REMATCH[1]}"
if [[ -z "${KTRDR_API_TOKEN:-}" || -z "${KTRDR_CLUSTER_TOKEN:-}" ]]; then
  [[ "$DRY_RUN" == 1 ]] || die "export KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN first (openssl rand -hex 32)"
fi
[[ "$DRY_RUN" == 1 ]] || need_cmd pct curl jq
API_URL="http://$addr:$port"

if probe pct status "$ctid"; then
  log "CT $ctid exists: reconfiguring it"
else
  clone=(pct clone "$template" "$ctid" --hostname "$hostname" --full --description "KTRDR gateway")
  [[ -n "$snapname" ]] && clone+=(--snapname "$snapname")
  run "${clone[@]}"
fi
run pct set "$ctid" --cores "$cores" --memory "$((memory_gb * 1024))" --onboot 1
net="name=eth0,bridge=$bridge,ip=$ip"
[[ -n "$gw" ]] && net+=",gw=$gw"
run pct set "$ctid" --net0 "$net"
if [[ -n "$mp_root" ]]; then
  i=0
  for m in data:/data/ktrdr models:/models/ktrdr bundles:/srv/ktrdr/bundles results:/srv/ktrdr/results strategies:/srv/ktrdr/strategies checkpoints:/srv/ktrdr/checkpoints memory:/srv/ktrdr/memory; do
    run pct set "$ctid" "--mp$i" "$mp_root/${m%%:*},mp=${m#*:}"
    i=$((i + 1))
  done
fi
if ! probe sh -c "pct status '$ctid' | grep -q running"; then run pct start "$ctid"; fi
wait_until 60 "CT $ctid answers pct exec" probe pct exec "$ctid" -- true

deploy_args=(--source "$source_dir" --ctids "$ctid")
[[ "$DRY_RUN" == 1 ]] && deploy_args+=(--dry-run)
"$KTRDR_DEPLOY_DIR/lxc/deploy-code.sh" "${deploy_args[@]}"

envfile="$(mktemp)"
trap 'rm -f "$envfile"' EXIT
render_env "$KTRDR_DEPLOY_DIR/env/gateway.env.example" "$envfile" "KTRDR_GATEWAY_HOST=0.0.0.0" "KTRDR_GATEWAY_PORT=$port" \
  "KTRDR_API_TOKEN=${KTRDR_API_TOKEN:-}" "KTRDR_CLUSTER_TOKEN=${KTRDR_CLUSTER_TOKEN:-}" "${extra[@]}"
t_push "ct:$ctid" "$envfile" /etc/ktrdr/gateway.env 0640
t_exec "ct:$ctid" chown root:ktrdr /etc/ktrdr/gateway.env
t_push "ct:$ctid" "$KTRDR_DEPLOY_DIR/systemd/ktrdr-gateway.service" /etc/systemd/system/ktrdr-gateway.service 0644
t_exec "ct:$ctid" systemctl daemon-reload
t_exec "ct:$ctid" systemctl enable ktrdr-gateway
t_exec "ct:$ctid" systemctl restart ktrdr-gateway

_healthy() { [[ "$(api_get /api/v1/health 2>/dev/null | jq -r .healthy 2>/dev/null)" == true ]]; }
wait_until "$wait_timeout" "the gateway answers $API_URL/api/v1/health" _healthy ||
  die "gateway not healthy: pct exec $ctid -- journalctl -u ktrdr-gateway -n 50"
log "gateway ready at $API_URL (hosts: KTRDR_API_URL=$API_URL)"
