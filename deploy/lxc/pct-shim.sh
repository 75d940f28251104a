#!/usr/bin/env bash
# A pct-compatible shim over Debian's lxc-* tools, so the deploy scripts can run for real on a
# machine without Proxmox (npm run test:lxc). Put it on PATH as `pct`. Only what the scripts use.
set -euo pipefail
SCRIPT_NAME=pct-shim
COMPAT_DIR="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/shim-compat"

usage() {
  cat <<USAGE
Usage: pct COMMAND CTID [ARGS]   (pct-shim over lxc-*; test machines only)

Commands: create CTID busybox [--hostname H] [--net0 …] [--cores N] [--memory MB] | clone SRC DST
[--hostname H] | set CTID [--net0 name=eth0,bridge=B,ip=A/P[,gw=G]] [--mpN SRC,mp=DST] [--cores N]
[--memory MB] | start | stop | status | exec CTID -- CMD… | push CTID SRC DEST [--perms M] |
snapshot CTID NAME | listsnapshot | destroy CTID [--purge] | list

Environment:
  PCT_SHIM_LXCPATH  lxc path for the containers (default: /var/lib/lxc)
  PCT_SHIM_PREFIX   container name prefix (default: pct-), so CT 201 is "pct-201"
  PCT_SHIM_NETNS    run every lxc-* command in this network namespace (where the bridge lives;
                    lxc's command socket is per namespace, so all calls must use the same one)

Differences from Proxmox: only the busybox template (no image download here); containers are
privileged; --cores/--memory are recorded, not enforced; clones copy the current state
(--snapname is accepted and ignored); the static address is applied with ip(8) after start;
busybox containers get the compat commands in shim-compat/ (useradd, install, systemctl).
USAGE
}

die() { printf '[%s] ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }
lxcpath="${PCT_SHIM_LXCPATH:-/var/lib/lxc}"
prefix="${PCT_SHIM_PREFIX:-pct-}"
mkdir -p "$lxcpath"

lx() {
  local tool="$1"; shift
  if [[ -n "${PCT_SHIM_NETNS:-}" ]]; then ip netns exec "$PCT_SHIM_NETNS" "$tool" -P "$lxcpath" "$@"
  else "$tool" -P "$lxcpath" "$@"; fi
}
name_of() { [[ "$1" =~ ^[0-9]+$ ]] || die "CT id must be a number, got '$1'"; echo "$prefix$1"; }
conf_of() { echo "$lxcpath/$(name_of "$1")/config"; }
exists() { [[ -f "$(conf_of "$1")" ]]; }
need() { exists "$1" || { echo "Configuration file 'nodes/shim/lxc/$1.conf' does not exist" >&2; exit 2; }; }
state_of() { lx lxc-info -n "$(name_of "$1")" -s -H 2>/dev/null | tr '[:upper:]' '[:lower:]'; }

# set_conf CT KEY VALUE: one "KEY = VALUE" line (replaces earlier ones).
set_conf() {
  local conf; conf="$(conf_of "$1")"
  grep -v -F "$2 = " "$conf" >"$conf.tmp" || true
  printf '%s = %s\n' "$2" "$3" >>"$conf.tmp"
  mv -f "$conf.tmp" "$conf"
}
get_conf() { sed -n "s/^$2 = //p" "$(conf_of "$1")" | tail -n1; }

apply_options() {
  local ct="$1"; shift
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --hostname) set_conf "$ct" lxc.uts.name "$2"; shift 2 ;;
      --cores) set_conf "$ct" "#pct.cores" "$2"; shift 2 ;;
      --memory) set_conf "$ct" "#pct.memory" "$2"; shift 2 ;;
      --net0)
        local kv bridge="" ip="" gw=""
        local IFS=,
        for kv in $2; do
          case "$kv" in bridge=*) bridge="${kv#bridge=}" ;; ip=*) ip="${kv#ip=}" ;; gw=*) gw="${kv#gw=}" ;; esac
        done
        unset IFS
        # lxc reads network keys in order and "type" resets the device: type first, then the rest.
        [[ -n "$bridge" ]] || bridge="$(get_conf "$ct" lxc.net.0.link)"
        set_conf "$ct" lxc.net.0.type veth
        [[ -z "$bridge" ]] || set_conf "$ct" lxc.net.0.link "$bridge"
        set_conf "$ct" lxc.net.0.name eth0
        set_conf "$ct" lxc.net.0.flags up
        set_conf "$ct" "#pct.ip" "$ip"
        set_conf "$ct" "#pct.gw" "$gw"
        shift 2 ;;
      --mp[0-9]*)
        local src="${2%%,*}"
        set_conf "$ct" "#pct.${1#--}" "$2"
        # Bind mounts, re-rendered from the #pct.mpN records so a re-set replaces, not adds.
        local conf recs rec target; conf="$(conf_of "$ct")"
        recs="$(sed -n 's/^#pct\.mp[0-9]* = //p' "$conf")"
        grep -v ' none bind,create=dir 0 0$' "$conf" >"$conf.tmp" || true
        while IFS= read -r rec; do
          [[ -n "$rec" ]] || continue
          target="${rec#*mp=}"
          printf 'lxc.mount.entry = %s %s none bind,create=dir 0 0\n' "${rec%%,*}" "${target#/}" >>"$conf.tmp"
        done <<<"$recs"
        mv -f "$conf.tmp" "$conf"
        [[ -d "$src" ]] || mkdir -p "$src"
        shift 2 ;;
      --description|--features|--unprivileged|--onboot|--rootfs|--storage|--snapname|--password|--ostype|--arch)
        shift 2 ;;
      --full) shift ;;
      *) die "unsupported option $1" ;;
    esac
  done
}

install_compat() {
  local rootfs; rootfs="$lxcpath/$(name_of "$1")/rootfs"
  mkdir -p "$rootfs/usr/sbin" "$rootfs/usr/bin" "$rootfs/bin" "$rootfs/etc/systemd/system" "$rootfs/usr/local/bin"
  install -m 0755 "$COMPAT_DIR/useradd" "$rootfs/usr/sbin/useradd"
  install -m 0755 "$COMPAT_DIR/install" "$rootfs/usr/bin/install"
  install -m 0755 "$COMPAT_DIR/systemctl" "$rootfs/bin/systemctl"
}

cmd="${1:-}"; [[ $# -gt 0 ]] && shift
case "$cmd" in
  -h|--help|help|"") usage ;;
  list) lx lxc-ls -f ;;
  create)
    ct="$1" tpl="${2:-}"; shift 2
    ! exists "$ct" || die "CT $ct already exists"
    [[ "$tpl" == *busybox* ]] || die "pct-shim creates from the busybox template only (got '$tpl'): no image download here"
    lx lxc-create -n "$(name_of "$ct")" -t busybox >/dev/null
    # Unconfined: privileged test containers on a host without an AppArmor policy for them.
    set_conf "$ct" lxc.apparmor.profile unconfined
    install_compat "$ct"
    apply_options "$ct" "$@" ;;
  clone)
    src="$1" ct="$2"; shift 2
    need "$src"; ! exists "$ct" || die "CT $ct already exists"
    [[ "$(state_of "$src")" != running ]] || die "CT $src is running: stop it before cloning"
    lx lxc-copy -n "$(name_of "$src")" -N "$(name_of "$ct")" >/dev/null
    apply_options "$ct" "$@" ;;
  set) ct="$1"; shift; need "$ct"; apply_options "$ct" "$@" ;;
  status) need "$1"; echo "status: $(state_of "$1")" ;;
  start)
    ct="$1"; need "$ct"
    [[ "$(state_of "$ct")" == running ]] && exit 0
    # The daemonised lxc monitor must not inherit our stdio: a caller reading our output through a
    # pipe would otherwise never see it close (pct itself returns cleanly).
    log_file="$lxcpath/$(name_of "$ct")/start.log"
    if ! lx lxc-start -n "$(name_of "$ct")" -d -o "$log_file" -l WARN </dev/null >/dev/null 2>&1; then
      tail -n 20 "$log_file" >&2 2>/dev/null || true
      die "lxc-start failed for CT $ct (log: $log_file)"
    fi
    lx lxc-wait -n "$(name_of "$ct")" -s RUNNING -t 20
    # Proxmox writes the container's network config; busybox has none, so set the address now.
    ip="$(get_conf "$ct" '#pct.ip')" gw="$(get_conf "$ct" '#pct.gw')"
    if [[ -n "$ip" && "$ip" != dhcp ]]; then
      script="ip link set eth0 up && ip addr replace $ip dev eth0"
      [[ -z "$gw" ]] || script+=" && ip route replace default via $gw"
      lx lxc-attach -n "$(name_of "$ct")" --clear-env -- /bin/sh -c "$script"
    fi ;;
  stop|shutdown)
    ct="$1"; need "$ct"
    [[ "$(state_of "$ct")" != running ]] || lx lxc-stop -n "$(name_of "$ct")" -k ;;
  exec)
    ct="$1"; need "$ct"; shift
    [[ "${1:-}" == -- ]] && shift
    [[ "$(state_of "$ct")" == running ]] || die "CT $ct not running"
    lx lxc-attach -n "$(name_of "$ct")" --clear-env \
      -v PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin -v HOME=/root -- "$@" ;;
  push)
    ct="$1" src="$2" dest="$3"; shift 3; need "$ct"
    perms=""; user=""; group=""
    while [[ $# -gt 0 ]]; do
      case "$1" in --perms) perms="$2"; shift 2 ;; --user) user="$2"; shift 2 ;; --group) group="$2"; shift 2 ;; *) die "push: unsupported option $1" ;; esac
    done
    [[ -f "$src" ]] || die "push: $src is not a file"
    # shellcheck disable=SC2016  # expanded by the container's shell, from its positional arguments
    script='set -e; mkdir -p "$(dirname "$1")"; cat > "$1.push-tmp"; [ -z "$2" ] || chmod "$2" "$1.push-tmp"; [ -z "$3" ] || chown "$3" "$1.push-tmp"; [ -z "$4" ] || chgrp "$4" "$1.push-tmp"; mv -f "$1.push-tmp" "$1"'
    lx lxc-attach -n "$(name_of "$ct")" --clear-env -- /bin/sh -c "$script" push "$dest" "$perms" "$user" "$group" <"$src" ;;
  snapshot)
    ct="$1" snap="$2"; need "$ct"
    lx lxc-snapshot -n "$(name_of "$ct")" -c /dev/null >/dev/null 2>&1 || true
    echo "$snap" >>"$lxcpath/$(name_of "$ct")/pct-snapshots" ;;
  listsnapshot)
    ct="$1"; need "$ct"
    f="$lxcpath/$(name_of "$ct")/pct-snapshots"
    if [[ -f "$f" ]]; then sed 's/^/`-> /' "$f"; fi
    echo '`-> current' ;;
  destroy)
    ct="$1"; need "$ct"
    lx lxc-destroy -n "$(name_of "$ct")" -f -s >/dev/null ;;
  *) die "unsupported command '$cmd' (see --help)" ;;
esac
