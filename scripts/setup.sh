#!/usr/bin/env bash
# Idempotent machine set-up for the repo: Mesa lavapipe >= 25 (software Vulkan for Dawn when there is no GPU),
# Bun (from the npm registry, installed into .tools/), and the workspace's packages.
# Every step checks first, so a second run is a few fast no-ops.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. Vulkan ICD: Mesa lavapipe >= 25 (Dawn rejects Debian 12's Mesa 22.3) -------------------------------
mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }
need_vulkan=1
if [ "${NAS_SKIP_APT:-0}" = 1 ]; then need_vulkan=0; fi
if [ "$need_vulkan" = 1 ] && [ "$(mesa_major || echo 0)" -ge 25 ] 2>/dev/null && dpkg-query -W libvulkan1 >/dev/null 2>&1; then
  need_vulkan=0
fi
if [ "$need_vulkan" = 1 ]; then
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  bp="/etc/apt/sources.list.d/nas-backports.sources"
  if [ -n "$codename" ] && ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Derive the backports entry from the machine's own Debian source (deb822 or one-line form): same
    # mirror, same keyring, suite <codename>-backports. No host name is written into the repo.
    src=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      src="$(awk -v s="$codename" 'BEGIN{RS=""} $0 ~ ("Suites:[^\n]*(^| )" s "( |$|\n)") || $0 ~ ("Suites: " s "( |\n|$)") {print; exit}' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [ -n "$src" ]; then
      uris="$(printf '%s\n' "$src" | sed -n 's/^URIs: *//p' | head -n1)"
      signed="$(printf '%s\n' "$src" | sed -n 's/^Signed-By: *//p' | head -n1)"
      comps="$(printf '%s\n' "$src" | sed -n 's/^Components: *//p' | head -n1)"
      log "adding ${codename}-backports derived from debian.sources"
      { echo "Types: deb"; echo "URIs: $uris"; echo "Suites: ${codename}-backports"; echo "Components: ${comps:-main}";
        [ -n "$signed" ] && echo "Signed-By: $signed"; } | sudo_ tee "$bp" >/dev/null
    else
      line="$(grep -hE "^deb [^ ]+ ${codename} " /etc/apt/sources.list 2>/dev/null | head -n1 || true)"
      [ -n "$line" ] || { log "cannot find a Debian source entry for ${codename} to derive backports from"; exit 1; }
      log "adding ${codename}-backports derived from sources.list"
      echo "$line" | sed -E "s/ ${codename} / ${codename}-backports /" | sudo_ tee /etc/apt/sources.list.d/nas-backports.list >/dev/null
    fi
  fi
  log "installing Mesa Vulkan drivers from ${codename}-backports"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t "${codename}-backports" mesa-vulkan-drivers libvulkan1 >/dev/null
  [ "$(mesa_major)" -ge 25 ] || { log "mesa-vulkan-drivers is $(mesa_major), need >= 25"; exit 1; }
fi

# --- 2. Bun from the npm registry (the binary ships inside the package) -----------------------------------
BUN_VERSION="${BUN_VERSION:-1.4.4}"
bun_bin="$root/.tools/node_modules/.bin/bun"
if ! [ -x "$bun_bin" ] || [ "$("$bun_bin" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  log "installing bun@$BUN_VERSION into .tools/"
  mkdir -p .tools
  npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >/dev/null
fi

# --- 3. Workspace packages ------------------------------------------------------------------------------------
stamp=node_modules/.nas-install-stamp
if ! [ -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f bun.lock ] && [ bun.lock -nt "$stamp" ]; }; then
  log "bun install"
  "$bun_bin" install --silent
  touch "$stamp"
fi
echo "$bun_bin"
