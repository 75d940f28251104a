#!/usr/bin/env bash
# Create the KTRDR base container (Debian 12 + Node.js 20 + ktrdr user + directories) that every
# worker and the gateway are cloned from. Run on a Proxmox node as root.
set -euo pipefail
export SCRIPT_NAME=create-template
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
  cat <<USAGE
Usage: $0 --node-tarball FILE [options]

  --ctid N             container id of the template (default: 900)
  --ostemplate VOLID   Debian 12 template (default: local:vztmpl/debian-12-standard_12.2-1_amd64.tar.zst;
                       fetch it once with: pveam update && pveam download local debian-12-standard_12.2-1_amd64.tar.zst)
  --node-tarball FILE  official Node.js 20 LTS linux-x64 tarball (node-v20.x.y-linux-x64.tar.xz from
                       https://nodejs.org/dist/latest-v20.x/), copied into the container and unpacked
                       into /usr/local. Debian 12's own nodejs is 18, too old for this runtime (>= 20.19).
                       May be omitted when the template already has node >= 20.
  --storage NAME       rootfs storage (default: local-lvm)
  --disk GB            rootfs size (default: 10)
  --bridge NAME        network bridge (default: vmbr0); the template itself uses DHCP
  --snapshot NAME      snapshot taken at the end, the clone source (default: template-base)
  --no-apt             skip apt-get (offline node: the Debian template already has what we need)
  --dry-run            print every command instead of running it
  -h, --help           this text

Safe to re-run: an existing container is reused, an existing snapshot is kept.
USAGE
}

ctid=900 ostemplate=local:vztmpl/debian-12-standard_12.2-1_amd64.tar.zst node_tarball=""
storage=local-lvm disk=10 bridge=vmbr0 snapshot=template-base apt=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ctid) need_value "$@"; ctid="$2"; shift 2 ;;
    --ostemplate) need_value "$@"; ostemplate="$2"; shift 2 ;;
    --node-tarball) need_value "$@"; node_tarball="$2"; shift 2 ;;
    --storage) need_value "$@"; storage="$2"; shift 2 ;;
    --disk) need_value "$@"; disk="$2"; shift 2 ;;
    --bridge) need_value "$@"; bridge="$2"; shift 2 ;;
    --snapshot) need_value "$@"; snapshot="$2"; shift 2 ;;
    --no-apt) apt=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
is_uint "$ctid" || die "--ctid must be a number"
is_uint "$disk" || die "--disk must be a number of GB"
[[ "$DRY_RUN" == 1 ]] || need_cmd pct
if [[ -n "$node_tarball" && "$DRY_RUN" != 1 ]]; then
  [[ -f "$node_tarball" ]] || die "node tarball $node_tarball not found"
  [[ "$(basename "$node_tarball")" =~ ^node-v(2[0-9]|[3-9][0-9])\. ]] || die "$node_tarball is not a Node.js >= 20 tarball (node-v20.x.y-linux-x64.tar.xz)"
fi

if probe pct status "$ctid"; then
  log "CT $ctid exists: reusing it"
else
  log "creating CT $ctid from $ostemplate"
  # nesting=1: systemd in an unprivileged Debian 12 container needs it.
  run pct create "$ctid" "$ostemplate" --hostname ktrdr-template --cores 2 --memory 2048 \
    --rootfs "$storage:$disk" --net0 "name=eth0,bridge=$bridge,ip=dhcp" \
    --unprivileged 1 --features nesting=1 --onboot 0
fi
if ! probe sh -c "pct status '$ctid' | grep -q running"; then
  run pct start "$ctid"
fi
wait_until 60 "CT $ctid answers pct exec" probe pct exec "$ctid" -- true

if [[ "$apt" == 1 ]]; then
  # curl+jq: the scripts' checks; rsync: deploy-code.sh --targets; xz: the Node tarball;
  # nfs-common only matters for privileged containers (unprivileged ones get NFS as bind mounts).
  t_exec "ct:$ctid" sh -c "DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl jq rsync xz-utils openssh-server nfs-common"
fi

if [[ -n "$node_tarball" ]]; then
  if probe pct exec "$ctid" -- sh -c 'node -e "process.exit(+process.versions.node.split(\".\")[0] >= 20 ? 0 : 1)"'; then
    log "node >= 20 already installed in CT $ctid"
  else
    t_push "ct:$ctid" "$node_tarball" /tmp/node.tar.xz 0644
    t_exec "ct:$ctid" sh -c "tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 --no-same-owner && rm -f /tmp/node.tar.xz && node --version"
  fi
elif ! probe pct exec "$ctid" -- node --version; then
  [[ "$DRY_RUN" == 1 ]] || die "CT $ctid has no node: pass --node-tarball node-v20.x.y-linux-x64.tar.xz"
fi

# The service user owns only state; code in /opt/ktrdr stays root-owned (read-only to the service).
t_exec "ct:$ctid" sh -c "id -u ktrdr >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/ktrdr --shell /usr/sbin/nologin ktrdr"
t_exec "ct:$ctid" install -d -m 0755 /opt/ktrdr /data/ktrdr /models/ktrdr /srv/ktrdr
t_exec "ct:$ctid" install -d -m 0750 -o root -g ktrdr /etc/ktrdr
t_exec "ct:$ctid" install -d -m 0750 -o ktrdr -g ktrdr /var/lib/ktrdr /srv/ktrdr/bundles /srv/ktrdr/results /srv/ktrdr/strategies /srv/ktrdr/checkpoints /srv/ktrdr/memory
if [[ "$apt" == 1 ]]; then t_exec "ct:$ctid" apt-get clean; fi

run pct stop "$ctid"
if probe sh -c "pct listsnapshot '$ctid' | grep -qw '$snapshot'"; then
  log "snapshot $snapshot of CT $ctid exists: keeping it (delete it with: pct delsnapshot $ctid $snapshot)"
else
  run pct snapshot "$ctid" "$snapshot" --description "KTRDR base: Debian 12, Node.js 20, ktrdr user, /opt/ktrdr"
fi
log "template CT $ctid ready; clone workers with provision-worker.sh --template $ctid"
