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
