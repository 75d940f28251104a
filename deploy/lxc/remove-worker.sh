#!/usr/bin/env bash
# Take workers out of service without losing work: drain, wait until idle, stop the service,
# remove them from the registry, stop the container and optionally destroy it.
set -euo pipefail
export SCRIPT_NAME=remove-worker
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
# shellcheck source=_targets.sh
source "$(dirname "${BASH_SOURCE[0]}")/_targets.sh"

usage() {
  cat <<USAGE
Usage: $0 --api-url URL (--ctids LIST | --host ID=DEST ...) [options]

  --api-url URL      the gateway (KTRDR_API_TOKEN from the env)
  --ctids LIST       worker containers, e.g. 205 or 204-205
  --name-prefix P    worker id = P + (ctid - index base) (default: ktrdr-worker-bt-)
  --index-base N     (default: 200)
  --host ID=DEST     a native host over ssh (its service is stopped and disabled; nothing destroyed)
  --destroy          also destroy the containers (pct destroy --purge); default: keep them stopped
  --drain-timeout S  longest wait for running operations (default: 3600)
  --dry-run          print every command instead of running it
  -h, --help         this text

Safe to re-run: a worker already gone from the registry is not drained again; a stopped or
missing container is skipped.
USAGE
}

destroy=0
while [[ $# -gt 0 ]]; do
  if targets_option "$@"; then shift "$TARGETS_SHIFT"; continue; fi
  case "$1" in
    --destroy) destroy=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
resolve_targets

for i in "${!W_IDS[@]}"; do
  id="${W_IDS[$i]}" target="${W_TARGETS[$i]}"
  listed=1
  [[ "$DRY_RUN" != 1 && -z "$(worker_field "$id" .worker_id)" ]] && listed=0
  if [[ "$listed" == 1 ]]; then
    drain_worker "$id"
    wait_worker_idle "$id" "$drain_timeout" || die "$id still runs an operation after ${drain_timeout}s; it stays drained (re-run later)"
  else
    log "$id is not in the registry: nothing to drain"
  fi
  if [[ "$target" == ct:* ]] && ! probe pct status "${target#ct:}" && [[ "$DRY_RUN" != 1 ]]; then
    log "CT ${target#ct:} does not exist: nothing to stop"
    continue
  fi
  if [[ "$target" == ssh:* ]] || [[ "$DRY_RUN" == 1 ]] || probe sh -c "pct status '${target#ct:}' | grep -q running"; then
    # disable: the service must not come back (and re-register) if the machine reboots.
    t_exec "$target" systemctl disable --now ktrdr-host
  fi
  # Remove at once instead of waiting out KTRDR_WORKER_REMOVAL_THRESHOLD.
  if [[ "$listed" == 1 ]]; then api_call DELETE "/api/v1/workers/$id" >/dev/null || warn "could not delete $id from the registry (already gone?)"; fi
  if [[ "$target" == ct:* ]]; then
    ct="${target#ct:}"
    if [[ "$DRY_RUN" == 1 ]] || probe sh -c "pct status '$ct' | grep -q running"; then
      run pct stop "$ct"
    fi
    if [[ "$destroy" == 1 ]]; then
      run pct destroy "$ct" --purge
    fi
  fi
  log "removed $id"
done
