#!/usr/bin/env bash
# Run shellcheck over every shell script of the project (deploy/, scripts/, .ci/, test fixtures).
# Used by the test command (test/deploy/shellcheck.test.ts) and by hand: scripts/shellcheck.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  echo "Usage: $0 [--install]   (--install: apt-get install shellcheck when it is missing)"
  exit 0
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  if [[ "${1:-}" == --install ]]; then
    apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null
  else
    echo "shellcheck is not installed: apt-get update && apt-get install -y shellcheck (or run $0 --install)" >&2
    exit 2
  fi
fi

# Files named *.sh, plus extension-less files whose first line is a bash/sh shebang.
files=()
while IFS= read -r -d '' f; do
  if [[ "$f" == *.sh ]] || head -n1 "$f" 2>/dev/null | grep -Eq '^#!.*\b(ba)?sh\b'; then files+=("$f"); fi
done < <(find deploy scripts .ci test -type f \( -name '*.sh' -o ! -name '*.*' \) -not -path '*/node_modules/*' -print0 2>/dev/null)

if [[ ${#files[@]} -eq 0 ]]; then echo "no shell scripts found" >&2; exit 1; fi
# -x with SCRIPTDIR: follow "source _lib.sh" next to each script.
shellcheck -x -P SCRIPTDIR --severity=style "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
