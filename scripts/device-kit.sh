#!/usr/bin/env bash
# Builds .devkit/ (git-ignored): what scripts/device-bench.sh needs on a GPU host that has no Bun, no Node, no
# node_modules and no network (the device tool's machines), in the 64 MiB that may travel there with the tree.
# Bun (38 MB compressed) and Node (24 MB) would not both fit, so the benchmark goes as a Node bundle that runs the
# engine in process (packages/compute/src/local.ts) and Bun stays behind:
#   bench-compute.mjs        packages/compute/bench/compute.ts bundled for Node (kernels inlined; webgpu external)
#   bench-check.mjs          packages/compute/bench/check.ts likewise: the engine against the fixtures on that GPU
#   node.xz                  this machine's Node binary (x86-64 Linux, glibc), xz-compressed
#   node_modules/webgpu/     the webgpu package's loader, with dist/linux-x64/dawn.node.xz
#   lib/                     the Vulkan loader and GL dispatch libraries, for hosts with the NVIDIA driver but no loader
#   shared/                  both test models and the fixtures' references (NAS_SHARED points here on the host)
# Idempotent: the compressed binaries are rebuilt only when their source changed. Prints the kit's size.
# Use: bash scripts/device-kit.sh, then the device tool's run with carry [".devkit"] and the command
#   bash scripts/device-bench.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[device-kit] %s\n' "$*" >&2; }
bun="$(bash scripts/setup.sh)"
kit=.devkit
mkdir -p "$kit/lib" "$kit/node_modules/webgpu/dist/linux-x64"

# xz a file unless the stamp beside the output already names the source's checksum.
pack() {
  local src="$1" out="$2" sum
  sum="$(sha256sum "$src" | cut -d' ' -f1)"
  if [ -f "$out" ] && [ "$(cat "$out.sha256" 2>/dev/null)" = "$sum" ]; then return; fi
  log "compressing $src"
  xz -T0 -9 -c "$src" >"$out.tmp" && mv "$out.tmp" "$out" && echo "$sum" >"$out.sha256"
}

log "bundling the check and the benchmark for Node"
for entry in check compute; do
  "$bun" build "packages/compute/bench/$entry.ts" --target=node --format=esm --external webgpu --outfile "$kit/bench-$entry.mjs" >/dev/null
done

node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || { log "no node on PATH: the kit carries this machine's Node"; exit 1; }
pack "$(readlink -f "$node_bin")" "$kit/node.xz"
"$node_bin" --version >"$kit/node.version"

wg=node_modules/webgpu
cp "$wg/index.js" "$wg/package.json" "$wg/LICENSE.md" "$kit/node_modules/webgpu/"
pack "$wg/dist/linux-x64/dawn.node" "$kit/node_modules/webgpu/dist/linux-x64/dawn.node.xz"

# The Vulkan loader, and the GL dispatch libraries the NVIDIA driver's ICD (libGLX_nvidia) links against: the
# set the device tool's notes name (libvulkan1, libglvnd0, libegl1, libopengl0, libgl1, libglx0, libgles2).
for lib in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libEGL.so.1 libOpenGL.so.0 libGL.so.1 libGLESv2.so.2; do
  path="$(ldconfig -p | awk -v n="$lib" '$1 == n && /x86-64/ {print $NF; exit}')"
  [ -n "$path" ] || { log "no $lib here to carry (libvulkan1 and libglvnd come with scripts/setup.sh's Mesa)"; exit 1; }
  cp -L "$path" "$kit/lib/$lib"
done

shared="$(cd packages/compute && "$bun" -e 'import { sharedDir } from "@nas/model"; console.log(sharedDir())')"
rm -rf "$kit/shared"
mkdir -p "$kit/shared/models" "$kit/shared/fixtures"
cp -r "$shared/models/stories260K-hf" "$shared/models/tiny-llama3-gqa-bf16" "$kit/shared/models/"
cp "$shared"/fixtures/*.reference.json "$kit/shared/fixtures/"

size="$(du -sbL "$kit" | cut -f1)"
tree="$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)"
log "kit $((size / 1048576)) MiB + tracked tree $((tree / 1048576)) MiB (the device tool takes at most 64 MiB)"
[ $((size + tree)) -lt $((60 * 1048576)) ] || { log "too large to travel"; exit 1; }
