#!/usr/bin/env bash
# Update the runtime software on function hosts one at a time, without losing work: drain through
# the API, wait until idle, stop, deploy code, start, wait until the host has re-registered.
set -euo pipefail
export SCRIPT_NAME=rolling-update
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
# shellcheck source=_targets.sh
source "$(dirname "${BASH_SOURCE[0]}")/_targets.sh"

usage() {
  cat <<USAGE
Usage: $0 --api-url URL (--ctids LIST | --host ID=DEST ...) [options]

Updates the RUNTIME SOFTWARE (node, bin/, runtime/, node_modules …) host by host. A new version of
a FUNCTION needs none of this: \`ktrdr fn deploy <name>\` publishes it and hosts pick it up live.

  --api-url URL        the gateway, e.g. http://192.168.1.100:8000 (KTRDR_API_TOKEN from the env)
  --ctids LIST         worker containers, e.g. 201-205
  --name-prefix P      worker id = P + (ctid - index base) (default: ktrdr-worker-bt-)
  --index-base N       (default: 200)
  --host ID=DEST       a native host over ssh, e.g. training-host-1=root@192.168.1.20 (repeatable)
  --source DIR         code to deploy (default: this checkout)
  --drain-timeout S    longest wait for a host to finish its operations (default: 3600)
  --register-timeout S longest wait for re-registration after the restart (default: 180)
  --dry-run            print every command instead of running it
  -h, --help           this text

Stops at the first host that does not come back, so at most one host is out of service.
Re-running is safe: a host that is already updated is simply drained and restarted again.
USAGE
}

source_dir="$KTRDR_REPO_DIR" register_timeout=180
while [[ $# -gt 0 ]]; do
  if targets_option "$@"; then shift "$TARGETS_SHIFT"; continue; fi
  case "$1" in
    --source) need_value "$@"; source_dir="$2"; shift 2 ;;
    --register-timeout) need_value "$@"; register_timeout="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
is_uint "$register_timeout" || die "'$register_timeout' is not a number"
resolve_targets

if [[ "$DRY_RUN" != 1 ]]; then
  api_get /api/v1/health >/dev/null || die "gateway $API_URL does not answer /api/v1/health"
fi

# Containers all get the same archive: pack once, before the first host is drained.
archive=""
if [[ " ${W_TARGETS[*]}" == *" ct:"* ]]; then
  archive="$(mktemp /tmp/ktrdr-code.XXXXXX.tar.gz)"
  trap 'rm -f "$archive"' EXIT
  pack_args=(--source "$source_dir" --pack "$archive")
  [[ "$DRY_RUN" == 1 ]] && pack_args+=(--dry-run)
  "$KTRDR_DEPLOY_DIR/lxc/deploy-code.sh" "${pack_args[@]}"
fi

for i in "${!W_IDS[@]}"; do
  id="${W_IDS[$i]}" target="${W_TARGETS[$i]}"
  log "[$((i + 1))/${#W_IDS[@]}] updating $id ($target)"
  if [[ "$DRY_RUN" != 1 && -z "$(worker_field "$id" .worker_id)" ]]; then
    warn "$id is not registered now: updating it without draining"
  else
    drain_worker "$id"
    wait_worker_idle "$id" "$drain_timeout" || die "$id still runs an operation after ${drain_timeout}s; it stays drained (re-run later, or restart it by hand: its work is then re-queued)"
  fi
  t_exec "$target" systemctl stop ktrdr-host
  case "$target" in
    ct:*) deploy=(--ctids "${target#ct:}" --archive "$archive") ;;
    ssh:*) dest="${target#ssh:}"; deploy=(--targets "${dest#*@}"); [[ "$dest" == *@* ]] && deploy+=(--ssh-user "${dest%@*}") ;;
  esac
  [[ "$DRY_RUN" == 1 ]] && deploy+=(--dry-run)
  "$KTRDR_DEPLOY_DIR/lxc/deploy-code.sh" --source "$source_dir" "${deploy[@]}"
  t_exec "$target" systemctl start ktrdr-host
  # Registration resets the drain flag: AVAILABLE and not draining means the new code is serving.
  wait_worker_available "$id" "$register_timeout" || die "$id did not re-register within ${register_timeout}s: stopping the rollout (see docs/operations.md#worker-not-registering)"
done
log "rolling update done: ${W_IDS[*]}"
