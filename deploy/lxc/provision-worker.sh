#!/usr/bin/env bash
# Provision worker containers: clone the template, size them, give each a static IP, start them,
# deploy the code, write /etc/ktrdr/host.env, install and start ktrdr-host.service, then wait
# until the gateway lists every new worker as AVAILABLE. Run on a Proxmox node as root.
set -euo pipefail
export SCRIPT_NAME=provision-worker
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
  cat <<USAGE
Usage: $0 --ctid N --ip ADDR/PREFIX --api-url URL [options]

  --ctid N            first container id (worker i gets N+i)
  --count K           number of workers (default: 1); ids and addresses are consecutive
  --ip ADDR/PREFIX    static address of the first worker, e.g. 192.168.1.201/24
  --gw ADDR           default gateway of the containers' network (optional)
  --bridge NAME       bridge (default: vmbr0)
  --api-url URL       the gateway, e.g. http://192.168.1.100:8000 (KTRDR_API_URL)
  --type TYPE         WORKER_TYPE: backtesting | training | general … (default: backtesting)
  --port N            WORKER_PORT (default: 5003 for backtesting, 5004 for training, else 5003)
  --cores N           cores per worker (default: 4)
  --memory-gb N       memory per worker in GB (default: 8)
  --slots N           KTRDR_HOST_SLOTS, concurrent invocations per worker (default: 1)
  --template N        template container id (default: 900)
  --snapname NAME     clone from this template snapshot (default: template-base; "" for current state)
  --name-prefix P     hostname/WORKER_ID prefix (default: ktrdr-worker-bt- / -tr- / -<type>-)
  --index-base N      hostname index = ctid - N (default: 200, so CT 201 is ktrdr-worker-bt-1)
  --mp-root DIR       Proxmox-host directory holding the NFS-mounted storage (data, models, bundles,
                      results, strategies, checkpoints, memory): bind-mounted into each container
  --storage-url URL   hosts without NFS: every storage mount over HTTP from the gateway
                      (e.g. http://192.168.1.100:8000/api/v1/storage); DATA_DIR & co are left unset
  --set KEY=VALUE     extra host.env setting (repeatable)
  --source DIR        code to deploy (default: this checkout)
  --wait-timeout S    how long to wait for each worker to be AVAILABLE (default: 180)
  --no-wait           do not wait for registration
  --dry-run           print every command instead of running it
  -h, --help          this text

Secrets come from the environment, never from arguments: KTRDR_CLUSTER_TOKEN (written to
host.env) and KTRDR_API_TOKEN (used by curl to read /api/v1/workers).
Safe to re-run: existing containers are reconfigured, not cloned again; the env file and unit are rewritten.
USAGE
}

ctid="" count=1 ip="" gw="" bridge=vmbr0 api_url="" type=backtesting port="" cores=4 memory_gb=8
slots="" template=900 snapname=template-base name_prefix="" index_base=200 mp_root="" storage_url=""
wait_timeout=180 do_wait=1 source_dir="$KTRDR_REPO_DIR"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ctid) need_value "$@"; ctid="$2"; shift 2 ;;
    --count) need_value "$@"; count="$2"; shift 2 ;;
    --ip) need_value "$@"; ip="$2"; shift 2 ;;
    --gw) need_value "$@"; gw="$2"; shift 2 ;;
    --bridge) need_value "$@"; bridge="$2"; shift 2 ;;
    --api-url) need_value "$@"; api_url="$2"; shift 2 ;;
    --type) need_value "$@"; type="$2"; shift 2 ;;
    --port) need_value "$@"; port="$2"; shift 2 ;;
    --cores) need_value "$@"; cores="$2"; shift 2 ;;
    --memory-gb) need_value "$@"; memory_gb="$2"; shift 2 ;;
    --slots) need_value "$@"; slots="$2"; shift 2 ;;
    --template) need_value "$@"; template="$2"; shift 2 ;;
    --snapname) [[ $# -ge 2 ]] || die "--snapname needs a value"; snapname="$2"; shift 2 ;;
    --name-prefix) need_value "$@"; name_prefix="$2"; shift 2 ;;
    --index-base) need_value "$@"; index_base="$2"; shift 2 ;;
    --mp-root) need_value "$@"; mp_root="$2"; shift 2 ;;
    --storage-url) need_value "$@"; storage_url="$2"; shift 2 ;;
    --set) need_value "$@"; extra+=("$2"); shift 2 ;;
    --source) need_value "$@"; source_dir="$2"; shift 2 ;;
    --wait-timeout) need_value "$@"; wait_timeout="$2"; shift 2 ;;
    --no-wait) do_wait=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n "$ctid" && -n "$ip" && -n "$api_url" ]] || { usage >&2; die "--ctid, --ip and --api-url are required"; }
for n in "$ctid" "$count" "$cores" "$memory_gb" "$template" "$index_base" "$wait_timeout"; do
  is_uint "$n" || die "'$n' is not a number"
done
[[ "$ip" =~ ^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)/([0-9]+)$ ]] || die "--ip must look like 192.168.1.201/24"
first_addr="${BASH_REMATCH[1]}" prefix="${BASH_REMATCH[2]}"
[[ "$api_url" =~ ^https?:// ]] || die "--api-url must be an http(s) URL"
if [[ -z "$port" ]]; then [[ "$type" == training ]] && port=5004 || port=5003; fi
if [[ -z "$name_prefix" ]]; then
  case "$type" in backtesting) name_prefix=ktrdr-worker-bt- ;; training) name_prefix=ktrdr-worker-tr- ;; *) name_prefix="ktrdr-worker-$type-" ;; esac
fi
[[ -n "${KTRDR_CLUSTER_TOKEN:-}" ]] || warn "KTRDR_CLUSTER_TOKEN is not set: the host will only work with a gateway that runs without one"
[[ "$DRY_RUN" == 1 ]] || need_cmd pct curl jq
API_URL="$api_url"

mounts=(data:/data/ktrdr models:/models/ktrdr bundles:/srv/ktrdr/bundles results:/srv/ktrdr/results
  strategies:/srv/ktrdr/strategies checkpoints:/srv/ktrdr/checkpoints memory:/srv/ktrdr/memory)

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
ids=() names=() addrs=()
for ((i = 0; i < count; i++)); do
  ids+=("$((ctid + i))"); addrs+=("$(ip_add "$first_addr" "$i")")
  names+=("$name_prefix$((ctid + i - index_base))")
done

# 1. Containers: clone, size, address, storage, start.
for i in "${!ids[@]}"; do
  ct="${ids[$i]}" name="${names[$i]}" addr="${addrs[$i]}"
  if probe pct status "$ct"; then
    log "CT $ct exists: reconfiguring it"
  else
    log "cloning CT $template → CT $ct ($name)"
    clone=(pct clone "$template" "$ct" --hostname "$name" --full --description "KTRDR worker $name ($type)")
    [[ -n "$snapname" ]] && clone+=(--snapname "$snapname")
    run "${clone[@]}"
  fi
  run pct set "$ct" --cores "$cores" --memory "$((memory_gb * 1024))" --onboot 1
  net="name=eth0,bridge=$bridge,ip=$addr/$prefix"
  [[ -n "$gw" ]] && net+=",gw=$gw"
  run pct set "$ct" --net0 "$net"
  if [[ -n "$mp_root" ]]; then
    for m in "${!mounts[@]}"; do
      run pct set "$ct" "--mp$m" "$mp_root/${mounts[$m]%%:*},mp=${mounts[$m]#*:}"
    done
  fi
  if ! probe sh -c "pct status '$ct' | grep -q running"; then
    run pct start "$ct"
  fi
  wait_until 60 "CT $ct answers pct exec" probe pct exec "$ct" -- true
done

# 2. Code: packed once, pushed into every container.
deploy_args=(--source "$source_dir" --ctids "$(IFS=,; echo "${ids[*]}")")
[[ "$DRY_RUN" == 1 ]] && deploy_args+=(--dry-run)
"$KTRDR_DEPLOY_DIR/lxc/deploy-code.sh" "${deploy_args[@]}"

# 3. Environment and service.
for i in "${!ids[@]}"; do
  ct="${ids[$i]}" name="${names[$i]}" addr="${addrs[$i]}"
  settings=("KTRDR_API_URL=$api_url" "WORKER_ID=$name" "WORKER_TYPE=$type" "WORKER_PORT=$port"
    "WORKER_ENDPOINT_URL=http://$addr:$port" "WORKER_CORES=$cores" "WORKER_MEMORY_GB=$memory_gb"
    "KTRDR_CLUSTER_TOKEN=${KTRDR_CLUSTER_TOKEN:-}")
  [[ -n "$slots" ]] && settings+=("KTRDR_HOST_SLOTS=$slots")
  if [[ -n "$storage_url" ]]; then
    settings+=("KTRDR_STORAGE_URL=$storage_url" '!DATA_DIR' '!MODELS_DIR' '!KTRDR_BUNDLES_DIR'
      '!KTRDR_RESULTS_DIR' '!KTRDR_STRATEGIES_DIR' '!KTRDR_CHECKPOINTS_DIR' '!KTRDR_MEMORY_DIR')
  fi
  settings+=("${extra[@]}")
  envfile="$workdir/host-$ct.env"
  render_env "$KTRDR_DEPLOY_DIR/env/host.env.example" "$envfile" "${settings[@]}"
  log "CT $ct: writing /etc/ktrdr/host.env ($name, http://$addr:$port) and ktrdr-host.service"
  t_push "ct:$ct" "$envfile" /etc/ktrdr/host.env 0640
  t_exec "ct:$ct" chown root:ktrdr /etc/ktrdr/host.env
  t_push "ct:$ct" "$KTRDR_DEPLOY_DIR/systemd/ktrdr-host.service" /etc/systemd/system/ktrdr-host.service 0644
  t_exec "ct:$ct" systemctl daemon-reload
  t_exec "ct:$ct" systemctl enable ktrdr-host
  # restart, not start: a re-run must pick up a changed env file or code.
  t_exec "ct:$ct" systemctl restart ktrdr-host
done

# 4. Registration.
if [[ "$do_wait" == 1 ]]; then
  failed=0
  for name in "${names[@]}"; do
    wait_worker_available "$name" "$wait_timeout" || failed=1
  done
  if [[ "$failed" == 1 ]]; then
    die "some workers did not register; see docs/operations.md#worker-not-registering (pct exec CTID -- journalctl -u ktrdr-host -n 50)"
  fi
fi
log "provisioned: ${names[*]}"
