#!/usr/bin/env bash
# Copy this runtime's code to hosts: rsync over ssh to addresses, or pct push into containers.
set -euo pipefail
export SCRIPT_NAME=deploy-code
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
  cat <<USAGE
Usage: $0 (--targets LIST | --ctids LIST) [options]

Deploys the runtime software (this checkout: bin/, runtime/, trading/, research/, functions/, storage/, node_modules/ …)
to /opt/ktrdr on each target. This is NOT how a new function version is deployed: for that use
\`ktrdr fn deploy <name>\` against the gateway (no copy, no restart).

  --targets LIST     addresses, rsync over ssh, e.g. "192.168.1.201-205,192.168.1.20"
  --ctids LIST       Proxmox container ids, pct push + extract, e.g. "201-205,210"
  --source DIR       tree to deploy (default: this checkout, $KTRDR_REPO_DIR)
  --dest DIR         install directory on the target (default: /opt/ktrdr)
  --ssh-user USER    user for --targets (default: root)
  --no-node-modules  do not ship node_modules (then run --npm-ci, which needs registry access)
  --npm-ci           run "npm ci --omit=dev" on the target after copying
  --restart UNIT     restart this systemd unit after copying (e.g. ktrdr-host)
  --pack FILE        only pack the tree into FILE (.tar.gz) for later --archive runs
  --archive FILE     push this archive (from --pack) to --ctids instead of packing again
  --dry-run          print every command instead of running it
  -h, --help         this text

Node modules are shipped by default so that targets need no registry access; build them on a
machine with the same architecture, Node major version (20) and glibc (Debian 12).
USAGE
}

targets="" ctids="" source_dir="$KTRDR_REPO_DIR" dest=/opt/ktrdr ssh_user=root
ship_modules=1 npm_ci=0 restart_unit="" pack_to="" archive_in=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --targets) need_value "$@"; targets="$2"; shift 2 ;;
    --ctids) need_value "$@"; ctids="$2"; shift 2 ;;
    --source) need_value "$@"; source_dir="$2"; shift 2 ;;
    --dest) need_value "$@"; dest="$2"; shift 2 ;;
    --ssh-user) need_value "$@"; ssh_user="$2"; shift 2 ;;
    --no-node-modules) ship_modules=0; shift ;;
    --npm-ci) npm_ci=1; shift ;;
    --restart) need_value "$@"; restart_unit="$2"; shift 2 ;;
    --pack) need_value "$@"; pack_to="$2"; shift 2 ;;
    --archive) need_value "$@"; archive_in="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n "$targets" || -n "$ctids" || -n "$pack_to" ]] || { usage >&2; die "give --targets or --ctids"; }
[[ -f "$source_dir/bin/ktrdr.mjs" ]] || die "$source_dir does not look like a KTRDR checkout (no bin/ktrdr.mjs)"
[[ "$dest" == /* && "$dest" != / ]] || die "--dest must be an absolute directory other than /"

# What never travels: history, local state, build caches, secrets.
excludes=(--exclude=.git --exclude=.ktrdr --exclude=coverage --exclude='*.log' --exclude=.env --exclude='.env.*' --exclude=.output --exclude=.nitro)
[[ "$ship_modules" == 1 ]] || excludes+=(--exclude=node_modules)

# pack OUT: the tree as a root-owned tar.gz. GNU tar exits 1 when a file changes while it is read
# (a live checkout): the copy is still complete and consistent per file, so warn and go on.
pack() {
  log "packing $source_dir"
  local rc=0
  run tar -czf "$1" --owner=0 --group=0 --numeric-owner --warning=no-file-changed "${excludes[@]}" -C "$source_dir" . || rc=$?
  if [[ "$rc" == 1 ]]; then warn "some files changed while packing $source_dir; deploying what was read"
  elif [[ "$rc" != 0 ]]; then die "tar failed ($rc) packing $source_dir"
  fi
}

post_copy() {
  local target="$1"
  if [[ "$npm_ci" == 1 ]]; then
    t_exec "$target" sh -c "cd '$dest' && npm ci --omit=dev --no-audit --no-fund"
  fi
  if [[ -n "$restart_unit" ]]; then
    t_exec "$target" systemctl restart "$restart_unit"
  fi
}

if [[ -n "$pack_to" ]]; then
  pack "$pack_to"
  [[ -n "$targets" || -n "$ctids" ]] || exit 0
fi

if [[ -n "$targets" ]]; then
  need_cmd rsync
  mapfile -t addrs < <(expand_ip_targets "$targets")
  for addr in "${addrs[@]}"; do
    log "deploying $source_dir → $ssh_user@$addr:$dest"
    t_exec "ssh:$ssh_user@$addr" mkdir -p "$dest"
    # --delete: files removed from the checkout disappear on the target too.
    run rsync -a --delete "${excludes[@]}" -e "ssh -o BatchMode=yes" "$source_dir/" "$ssh_user@$addr:$dest/"
    post_copy "ssh:$ssh_user@$addr"
  done
fi

if [[ -n "$ctids" ]]; then
  mapfile -t cts < <(expand_range "$ctids")
  if [[ -n "$archive_in" ]]; then
    [[ -f "$archive_in" || "$DRY_RUN" == 1 ]] || die "archive $archive_in not found"
    archive="$archive_in"
  elif [[ -n "$pack_to" ]]; then
    archive="$pack_to"
  else
    archive="$(mktemp /tmp/ktrdr-code.XXXXXX.tar.gz)"
    trap 'rm -f "$archive"' EXIT
    pack "$archive"
  fi
  # Unpack beside the old tree and swap, so a running service never sees a half-copied tree.
  swap="set -e; rm -rf '$dest.new' '$dest.old'; mkdir -p '$dest.new'; tar -xzf /tmp/ktrdr-code.tar.gz -o -C '$dest.new'; rm -f /tmp/ktrdr-code.tar.gz; if [ -d '$dest' ]; then mv '$dest' '$dest.old'; fi; mv '$dest.new' '$dest'; rm -rf '$dest.old'"
  for ct in "${cts[@]}"; do
    log "deploying $source_dir → CT $ct:$dest"
    t_push "ct:$ct" "$archive" /tmp/ktrdr-code.tar.gz 0600
    t_exec "ct:$ct" sh -c "$swap"
    post_copy "ct:$ct"
  done
fi
log "done"
