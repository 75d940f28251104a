# shellcheck shell=bash
# Installing ktrdr-host.service natively on the machine this runs on (GPU host, IB host):
# the same layout as the LXC template (user, directories), then env file, unit, registration.

# Options every native setup script takes. The script sets its own defaults for worker_id and
# port before parsing; native_option "$@" consumes one shared option, sets NATIVE_SHIFT to the
# number of words it took, and returns 1 when $1 is not one of them.
# shellcheck disable=SC2034  # read by the scripts that source this file
api_url="" address="" source_dir="$KTRDR_REPO_DIR" node_tarball="" wait_timeout=180 extra=()
NATIVE_SHIFT=0
native_option() {
  case "$1" in
    --api-url) need_value "$@"; api_url="$2" ;;
    --address) need_value "$@"; address="$2" ;;
    --worker-id) need_value "$@"; worker_id="$2" ;;
    --port) need_value "$@"; port="$2" ;;
    --source) need_value "$@"; source_dir="$2" ;;
    --node-tarball) need_value "$@"; node_tarball="$2" ;;
    --set) need_value "$@"; extra+=("$2") ;;
    --wait-timeout) need_value "$@"; wait_timeout="$2" ;;
    *) return 1 ;;
  esac
  NATIVE_SHIFT=2
}

# native_check_options NUMBER...: the shared options are complete and numeric (and the script's
# own numbers); sets API_URL for the gateway calls.
native_check_options() {
  [[ -n "$api_url" && -n "$address" ]] || { usage >&2; die "--api-url and --address are required"; }
  local n
  for n in "$port" "$@" "$wait_timeout"; do is_uint "$n" || die "'$n' is not a number"; done
  API_URL="$api_url"
}

# native_install: runtime, user, directories, code.
native_install() {
  native_check_node "$node_tarball"
  native_layout
  native_code "$source_dir"
}

# native_wait_capability CAPABILITY WHAT: waits until the gateway lists this host AVAILABLE with
# capabilities.CAPABILITY == true; otherwise dies saying it is not registered WHAT.
_native_registered() { [[ "$(worker_field "$1" "\"\\(.status) \\(.capabilities.$2)\"")" == "AVAILABLE true" ]]; }
native_wait_capability() {
  wait_until "$wait_timeout" "gateway lists $worker_id as AVAILABLE with capabilities.$1 == true" _native_registered "$worker_id" "$1" ||
    die "$worker_id is not registered $2"
}

# native_check_node: Node >= 20 on PATH, or install the official tarball given with --node-tarball.
native_check_node() {
  local tarball="$1"
  if command -v node >/dev/null 2>&1 && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    log "node $(node --version) found"
  elif [[ -n "$tarball" ]]; then
    run tar -xJf "$tarball" -C /usr/local --strip-components=1 --no-same-owner
  elif [[ "$DRY_RUN" == 1 ]]; then
    warn "no node >= 20 here; a real run needs --node-tarball node-v20.x.y-linux-x64.tar.xz"
  else
    die "node >= 20 is required: pass --node-tarball node-v20.x.y-linux-x64.tar.xz (Debian 12's nodejs is 18)"
  fi
}

native_layout() {
  if ! id -u ktrdr >/dev/null 2>&1; then
    run useradd --system --user-group --home-dir /var/lib/ktrdr --shell /usr/sbin/nologin ktrdr
  fi
  run install -d -m 0755 /opt/ktrdr /data/ktrdr /models/ktrdr /srv/ktrdr
  run install -d -m 0750 -o root -g ktrdr /etc/ktrdr
  run install -d -m 0750 -o ktrdr -g ktrdr /var/lib/ktrdr /srv/ktrdr/bundles /srv/ktrdr/results /srv/ktrdr/strategies /srv/ktrdr/checkpoints /srv/ktrdr/memory
}

# native_code SOURCE: copy a checkout to /opt/ktrdr unless SOURCE is /opt/ktrdr itself (deployed already).
native_code() {
  local src="$1"
  if [[ "$(cd "$src" && pwd)" == /opt/ktrdr ]]; then
    log "running from /opt/ktrdr: code already in place"
  else
    need_cmd rsync
    run rsync -a --delete --exclude=.git --exclude=.ktrdr --exclude='*.log' --exclude=.env "$src/" /opt/ktrdr/
  fi
}

# native_service TEMPLATE SETTINGS...: env file, unit, enable, (re)start.
native_service() {
  local template="$1"; shift
  local envfile
  envfile="$(mktemp)"
  render_env "$template" "$envfile" "$@"
  run install -m 0640 -o root -g ktrdr "$envfile" /etc/ktrdr/host.env
  rm -f "$envfile"
  # The unit runs /usr/local/bin/node (where the tarball goes); a native host may have node elsewhere.
  local unit node_path
  unit="$(mktemp)"
  node_path="$(command -v node || echo /usr/local/bin/node)"
  sed "s|/usr/local/bin/node |$node_path |" "$KTRDR_DEPLOY_DIR/systemd/ktrdr-host.service" >"$unit"
  run install -m 0644 "$unit" /etc/systemd/system/ktrdr-host.service
  rm -f "$unit"
  run systemctl daemon-reload
  run systemctl enable ktrdr-host
  run systemctl restart ktrdr-host
}
