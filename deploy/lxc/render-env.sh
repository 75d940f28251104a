#!/usr/bin/env bash
# Render an env file from a commented template (deploy/env/*.env.example) with KEY=VALUE settings.
set -euo pipefail
export SCRIPT_NAME=render-env
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
  cat <<USAGE
Usage: $0 [--template FILE | --kind host|gateway|gpu-host|ib-host] [--out FILE] [KEY=VALUE ...] [!KEY ...]

Copies the template, sets each KEY (uncommenting a "# KEY=" line when the template has one,
appending it otherwise), comments out each !KEY and keeps every comment. Writes to stdout without --out.
Used by provision-worker.sh, setup-gpu-host.sh, setup-ib-host.sh and the multi-host test.

  --template FILE   template to start from
  --kind KIND       shorthand for --template deploy/env/KIND.env.example (default: host)
  --out FILE        write here (mode 0600) instead of stdout
  -h, --help        this text
USAGE
}

template="" kind=host out=""
settings=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --template) need_value "$@"; template="$2"; shift 2 ;;
    --kind) need_value "$@"; kind="$2"; shift 2 ;;
    --out) need_value "$@"; out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *=*|!*) settings+=("$1"); shift ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n "$template" ]] || template="$KTRDR_DEPLOY_DIR/env/$kind.env.example"

if [[ -n "$out" ]]; then
  tmp="$(mktemp "${out}.XXXXXX")"
  chmod 0600 "$tmp"
  render_env "$template" "$tmp" "${settings[@]}"
  mv -f "$tmp" "$out"
else
  tmp="$(mktemp)"
  trap 'rm -f "$tmp"' EXIT
  render_env "$template" "$tmp" "${settings[@]}"
  cat "$tmp"
fi
