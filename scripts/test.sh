#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: idempotent set-up (lavapipe, Bun, packages), then `bun test`.
# Ends with the line "N passed, N failed". Extra arguments go to `bun test` (e.g. a path filter).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bun="$(bash scripts/setup.sh | tail -n1)" || { echo "set-up failed"; echo "0 passed, 1 failed"; exit 1; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/nas-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export PATH="$(dirname "$bun"):$PATH"
log="$(mktemp)"
"$bun" test --timeout 300000 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass="$(grep -E '^ *[0-9]+ pass$' "$log" | tail -n1 | awk '{print $1}')"
fail="$(grep -E '^ *[0-9]+ fail$' "$log" | tail -n1 | awk '{print $1}')"
rm -f "$log"
# A crash of the runner itself (non-zero exit with no summary) counts as a failure, never as green.
if [ -z "$pass$fail" ] && [ "$rc" != 0 ]; then fail=1; fi
echo "${pass:-0} passed, ${fail:-0} failed"
exit "$rc"
