#!/usr/bin/env bash
# The tool on a fresh machine: idempotent set-up, then `bun run nas "$@"`. With no arguments it runs the
# default job on the embedded default model (../shared/models/stories260K-hf).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bun="$(bash scripts/setup.sh | tail -n1)"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/nas-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export PATH="$(dirname "$bun"):$PATH"
if [ "$#" -eq 0 ]; then set -- default; fi
exec "$bun" apps/cli/src/main.ts "$@"
