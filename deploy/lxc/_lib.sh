# shellcheck shell=bash
# Common helpers for the deploy/lxc scripts: logging, run-or-print (--dry-run), argument
# helpers, targets (a Proxmox CT or an ssh host), and gateway API calls with curl + jq.
# Sourced, never executed. Every script sets `set -euo pipefail` itself before sourcing.

KTRDR_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034  # used by the scripts that source this file
KTRDR_REPO_DIR="$(cd "$KTRDR_DEPLOY_DIR/.." && pwd)"
DRY_RUN="${DRY_RUN:-0}"
# Bounded waits: every loop in these scripts has a deadline.
POLL_INTERVAL="${POLL_INTERVAL:-2}"

log() { printf '[%s] %s\n' "${SCRIPT_NAME:-ktrdr-deploy}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${SCRIPT_NAME:-ktrdr-deploy}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${SCRIPT_NAME:-ktrdr-deploy}" "$*" >&2; exit 1; }

# Print a command the way a shell would read it back.
# Dry-run lines go to fd 3 (the script's stdout), so a caller's ">/dev/null" never hides them.
exec 3>&1
print_cmd() {
  local line
  line="$(quote_words "$@")"
  # Never print a token: show the variable it comes from instead.
  if [[ -n "${KTRDR_API_TOKEN:-}" ]]; then line="${line//"$KTRDR_API_TOKEN"/\$KTRDR_API_TOKEN}"; fi
  printf '+ %s\n' "$line" >&3
}

# Shell-quote words for printing or for ssh: plain words as they are, others in single quotes.
quote_words() {
  local out="" a q="'"
  for a in "$@"; do
    if [[ -n "$a" && "$a" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+="$a "
    else out+="$q${a//$q/$q\\$q$q}$q "
    fi
  done
  printf '%s' "${out% }"
}

# run CMD...: runs it, or only prints it under --dry-run. Commands that change something go through here.
run() {
  if [[ "$DRY_RUN" == 1 ]]; then print_cmd "$@"; return 0; fi
  "$@"
}

# Checks that only read (pct status, curl GET) run for real, except under --dry-run where the
# answer is unknown: they then fail, so that the script prints the full "create it" path.
probe() {
  if [[ "$DRY_RUN" == 1 ]]; then return 1; fi
  "$@" >/dev/null 2>&1
}

need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (Debian: apt-get install -y $c)"
  done
}

# need_value OPTION VALUE: an option that takes a value got one.
need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (see --help)"; }

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# expand_range "201-205,210" -> one number per line.
expand_range() {
  local part a b i
  local IFS=','
  for part in $1; do
    if [[ "$part" =~ ^([0-9]+)-([0-9]+)$ ]]; then
      a="${BASH_REMATCH[1]}"; b="${BASH_REMATCH[2]}"
      (( a <= b )) || die "bad range '$part' (start > end)"
      for ((i = a; i <= b; i++)); do echo "$i"; done
    elif is_uint "$part"; then
      echo "$part"
    else
      die "bad number or range '$part' (expected e.g. 201-205,210)"
    fi
  done
}

# expand_ip_targets "192.168.1.201-205,10.0.0.7" -> one address per line (range on the last octet).
expand_ip_targets() {
  local part prefix a b i
  local IFS=','
  for part in $1; do
    if [[ "$part" =~ ^([0-9]+\.[0-9]+\.[0-9]+\.)([0-9]+)-([0-9]+)$ ]]; then
      prefix="${BASH_REMATCH[1]}"; a="${BASH_REMATCH[2]}"; b="${BASH_REMATCH[3]}"
      (( a <= b && b <= 254 )) || die "bad address range '$part'"
      for ((i = a; i <= b; i++)); do echo "$prefix$i"; done
    elif [[ -n "$part" ]]; then
      echo "$part"
    fi
  done
}

# ip_add "192.168.1.201" 3 -> 192.168.1.204 (last octet only; worker ranges stay inside one /24).
ip_add() {
  local ip="$1" n="$2" base last
  base="${ip%.*}"; last="${ip##*.}"
  (( last + n <= 254 )) || die "address $ip + $n leaves the /24"
  echo "$base.$((last + n))"
}

# --- targets -------------------------------------------------------------------------------
# A target is "ct:<CTID>" (a container on this Proxmox node, reached with pct) or
# "ssh:<user@host>" (a native host or a container reached over ssh).

t_exec() {
  local target="$1"; shift
  case "$target" in
    ct:*) run pct exec "${target#ct:}" -- "$@" ;;
    # ssh hands the remote shell one string: quote each word so it arrives as one argument.
    ssh:*) run ssh -o BatchMode=yes "${target#ssh:}" -- "$(quote_words "$@")" ;;
    local) run "$@" ;;
    *) die "unknown target '$target'" ;;
  esac
}

# t_push TARGET SRC DEST MODE
t_push() {
  local target="$1" src="$2" dest="$3" mode="${4:-0644}"
  case "$target" in
    ct:*) run pct push "${target#ct:}" "$src" "$dest" --perms "$mode" ;;
    ssh:*)
      run rsync -a --chmod="F$mode" -e "ssh -o BatchMode=yes" "$src" "${target#ssh:}:$dest" ;;
    local) run install -m "$mode" "$src" "$dest" ;;
    *) die "unknown target '$target'" ;;
  esac
}

# --- gateway API ---------------------------------------------------------------------------
API_URL="${KTRDR_API_URL:-http://127.0.0.1:8000}"

# curl with the API token when one is configured. Read-only GETs run even under --dry-run
# only through api_get (which probes); mutations go through api_call (run-or-print).
_curl_auth() {
  if [[ -n "${KTRDR_API_TOKEN:-}" ]]; then
    printf '%s\n' "-H" "Authorization: Bearer $KTRDR_API_TOKEN"
  fi
}

api_get() {
  local path="$1" auth=()
  mapfile -t auth < <(_curl_auth)
  curl -fsS --max-time 10 "${auth[@]}" "$API_URL$path"
}

# api_call METHOD PATH [JSON]
api_call() {
  local method="$1" path="$2" body="${3:-}" auth=()
  mapfile -t auth < <(_curl_auth)
  if [[ -n "$body" ]]; then
    run curl -fsS --max-time 30 -X "$method" "${auth[@]}" -H 'Content-Type: application/json' -d "$body" "$API_URL$path"
  else
    run curl -fsS --max-time 30 -X "$method" "${auth[@]}" "$API_URL$path"
  fi
}

# worker_field ID JQ_FILTER -> prints the filter's value for that worker, empty when unlisted.
worker_field() {
  local id="$1" filter="$2"
  api_get "/api/v1/workers" 2>/dev/null |
    jq -r --arg id "$id" ".[] | select(.worker_id == \$id) | $filter" 2>/dev/null || true
}

# wait_until TIMEOUT_S DESCRIPTION CMD...: polls CMD until it succeeds or the deadline passes.
wait_until() {
  local timeout="$1" what="$2"; shift 2
  if [[ "$DRY_RUN" == 1 ]]; then
    printf '# wait up to %ss until %s\n' "$timeout" "$what" >&3
    return 0
  fi
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if (( SECONDS >= deadline )); then
      log "timed out after ${timeout}s waiting until $what"
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
  log "ok: $what"
}

_worker_is() { [[ "$(worker_field "$1" '.status')" == "$2" ]]; }
# Listed, AVAILABLE and not draining: a fresh registration after a restart.
_worker_ready() {
  [[ "$(worker_field "$1" '"\(.status) \(.metadata.draining // false)"')" == "AVAILABLE false" ]]
}
_worker_idle() {
  local cur
  cur="$(worker_field "$1" '"\(.metadata.current_operation) \((.metadata.current_operations // []) | length)"')"
  # Unlisted (already gone) counts as idle; otherwise no current operation at all.
  [[ -z "$cur" || "$cur" == "null 0" ]]
}
_worker_gone() { [[ -z "$(worker_field "$1" '.worker_id')" ]] && api_get /api/v1/workers >/dev/null 2>&1; }

wait_worker_available() { wait_until "${2:-180}" "gateway lists $1 as AVAILABLE" _worker_ready "$1"; }
wait_worker_idle() { wait_until "${2:-3600}" "$1 has no current operation" _worker_idle "$1"; }

drain_worker() {
  log "draining $1 (it takes no new work and finishes what it runs)"
  api_call POST "/api/v1/workers/$1/drain" >/dev/null
}

# --- env files -----------------------------------------------------------------------------
# render_env TEMPLATE OUT KEY=VALUE... [!KEY...]: copy the commented template, set each KEY
# (uncommenting "# KEY=" lines), append keys the template lacks; "!KEY" comments a set KEY out.
# Comments stay, so the file documents itself.
render_env() {
  local template="$1" out="$2"; shift 2
  [[ -f "$template" ]] || die "env template $template not found"
  local -A want=()
  local -a order=()
  local -A drop=()
  local kv key line k
  for kv in "$@"; do
    if [[ "$kv" =~ ^!([A-Z_][A-Z0-9_]*)$ ]]; then drop[${BASH_REMATCH[1]}]=1; continue; fi
    [[ "$kv" == *=* ]] || die "bad setting '$kv' (expected KEY=VALUE)"
    key="${kv%%=*}"
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || die "bad variable name '$key'"
    [[ -v "want[$key]" ]] || order+=("$key")
    want[$key]="${kv#*=}"
  done
  local -A done_keys=()
  {
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" =~ ^#?[[:space:]]?([A-Z_][A-Z0-9_]*)= ]]; then
        k="${BASH_REMATCH[1]}"
        if [[ -v "want[$k]" ]]; then
          if [[ -z "${done_keys[$k]:-}" ]]; then
            printf '%s=%s\n' "$k" "${want[$k]}"
            done_keys[$k]=1
          fi
          continue
        fi
        if [[ -v "drop[$k]" && "$line" != \#* ]]; then printf '# %s\n' "$line"; continue; fi
      fi
      printf '%s\n' "$line"
    done <"$template"
    local first=1
    for k in "${order[@]}"; do
      if [[ -z "${done_keys[$k]:-}" ]]; then
        if [[ "$first" == 1 ]]; then printf '\n# Set by %s\n' "${SCRIPT_NAME:-render-env}"; first=0; fi
        printf '%s=%s\n' "$k" "${want[$k]}"
      fi
    done
  } >"$out"
}
