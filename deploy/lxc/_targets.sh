# shellcheck shell=bash
# Worker selection shared by rolling-update.sh and remove-worker.sh: parallel arrays
# W_IDS (worker ids as the gateway lists them) and W_TARGETS (ct:<id> or ssh:<dest>).

W_IDS=()
W_TARGETS=()

# add_ct_workers LIST PREFIX INDEX_BASE: CTs named the way provision-worker.sh names them.
add_ct_workers() {
  local ct
  while read -r ct; do
    W_IDS+=("$2$((ct - $3))")
    W_TARGETS+=("ct:$ct")
  done < <(expand_range "$1")
}

# add_host_worker ID=DEST: a native host (GPU, IB) or any machine reached over ssh.
add_host_worker() {
  [[ "$1" =~ ^([^=]+)=(.+)$ ]] || die "--host wants WORKER_ID=user@address, got '$1'"
  W_IDS+=("${BASH_REMATCH[1]}")
  W_TARGETS+=("ssh:${BASH_REMATCH[2]}")
}

# Options rolling-update.sh and remove-worker.sh share. targets_option "$@" consumes one of them,
# sets TARGETS_SHIFT to the number of words it took, and returns 1 when $1 is not one of them.
# shellcheck disable=SC2034  # read by the scripts that source this file
api_url="" prefix=ktrdr-worker-bt- index_base=200 drain_timeout=3600 ctids=() hosts=()
TARGETS_SHIFT=0
targets_option() {
  case "$1" in
    --api-url) need_value "$@"; api_url="$2" ;;
    --ctids) need_value "$@"; ctids+=("$2") ;;
    --name-prefix) need_value "$@"; prefix="$2" ;;
    --index-base) need_value "$@"; index_base="$2" ;;
    --host) need_value "$@"; hosts+=("$2") ;;
    --drain-timeout) need_value "$@"; drain_timeout="$2" ;;
    *) return 1 ;;
  esac
  # shellcheck disable=SC2034  # read by the scripts that source this file
  TARGETS_SHIFT=2
}

# resolve_targets: checks the shared options, fills W_IDS/W_TARGETS and sets API_URL for the
# gateway calls.
resolve_targets() {
  [[ -n "$api_url" ]] || { usage >&2; die "--api-url is required"; }
  local n c h
  for n in "$drain_timeout" "$index_base"; do is_uint "$n" || die "'$n' is not a number"; done
  for c in "${ctids[@]}"; do add_ct_workers "$c" "$prefix" "$index_base"; done
  for h in "${hosts[@]}"; do add_host_worker "$h"; done
  (( ${#W_IDS[@]} > 0 )) || { usage >&2; die "give --ctids or --host"; }
  [[ "$DRY_RUN" == 1 ]] || need_cmd curl jq
  # shellcheck disable=SC2034  # read by _lib.sh's api_call
  API_URL="$api_url"
}
