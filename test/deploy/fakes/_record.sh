# shellcheck shell=bash
# Shared by the recording fakes: append "<name>\t<arg1>\t<arg2>…" to $FAKE_LOG.
record() {
  local line="$1" a
  shift
  for a in "$@"; do line+=$'\t'"$a"; done
  printf '%s\n' "$line" >>"${FAKE_LOG:?FAKE_LOG is not set}"
}
