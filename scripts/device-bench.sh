#!/usr/bin/env bash
# Runs on the GPU host of the device tool (built here first with scripts/device-kit.sh, carried as .devkit):
#   1. the engine against the fixtures' references (bench/check.ts as a Node bundle, engine in process) on the
#      host's Vulkan adapter: a GPU's kernels take other paths (subgroup size, layer encoding) than lavapipe's;
#   2. the engine's benchmark (bench/compute.ts, likewise);
#   3. PyTorch on the same shapes, fp32 on CUDA (bench/torch_compute.py), with the engine/PyTorch ratios.
# Writes host.txt and check, wgsl, torch (.json and .log) to $OUT (out/device when OUT is unset); prints the JSONs.
# Each step has its own time limit, and a failing step does not stop the other: a device run is scarce.
# Use (device tool): run with carry [".devkit"], timeout_s 580, command: bash scripts/device-bench.sh
# The time limits (150 + 240 + 150 s) are far above what the steps take on a GPU; they bound a hang.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kit="$root/.devkit"
out="${OUT:-$root/out/device}"
mkdir -p "$out"
log() { printf '[device-bench] %s\n' "$*" >&2; }
[ -f "$kit/bench-compute.mjs" ] || { log ".devkit is missing: run bash scripts/device-kit.sh and carry .devkit"; exit 2; }

# Unpack the compressed binaries (kept beside the bundle: it resolves webgpu from its own node_modules).
unxz() { xz -dc "$1" >"$2" 2>/dev/null || python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
bin="$(mktemp -d)"
unxz "$kit/node.xz" "$bin/node" && chmod +x "$bin/node"
dawn="$kit/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || unxz "$dawn.xz" "$dawn"

# Vulkan: each library the host lacks (the loader, the GL dispatch the NVIDIA ICD links against) from the kit,
# never in place of the host's own; the NVIDIA driver's ICD if no ICD is registered.
have="$({ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null)"
mkdir -p "$bin/lib"
for f in "$kit"/lib/*; do
  grep -q "^[[:space:]]*$(basename "$f") " <<<"$have" || ln -s "$f" "$bin/lib/"
done
[ -n "$(ls "$bin/lib")" ] && export LD_LIBRARY_PATH="$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && export VK_DRIVER_FILES="$icd" && break
  done
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" NAS_SHARED="$kit/shared"
# What Vulkan will find, for a run whose engine finds no adapter: the ICD files and what the NVIDIA one lacks.
icd_report() {
  ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
  local icd="${VK_DRIVER_FILES:-/usr/share/vulkan/icd.d/nvidia_icd.json}" lib path
  [ -f "$icd" ] || return 0
  cat "$icd"
  lib="$(sed -n 's/.*"library_path" *: *"\([^"]*\)".*/\1/p' "$icd")"
  path="$lib"
  [ -f "$path" ] || path="$({ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | awk -v n="$lib" '$1 == n {print $NF; exit}')"
  if [ -n "$path" ]; then ldd "$path" 2>&1 | grep "not found" || echo "$lib ($path): no missing libraries"; else echo "$lib: not found"; fi
}
{ nvidia-smi -L 2>&1; icd_report; echo "node $("$bin/node" --version)"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} carried libraries used: $(ls "$bin/lib" | tr '\n' ' ')"; } 2>&1 | tee "$out/host.txt" >&2

log "engine against the fixtures (Node, in process)"
timeout 150 "$bin/node" "$kit/bench-check.mjs" >"$out/check.log" 2>&1
rc_check=$?
grep '^{' "$out/check.log" | tail -n 1 >"$out/check.json"
[ "$rc_check" = 0 ] || { log "check failed (exit $rc_check); last lines:"; tail -n 20 "$out/check.log" >&2; }

log "engine benchmark (Node, in process)"
timeout 240 "$bin/node" "$kit/bench-compute.mjs" >"$out/wgsl.log" 2>&1
rc_wgsl=$?
# Native code (Dawn) may print to stdout too: the result is the last line that is a JSON object.
grep '^{' "$out/wgsl.log" | tail -n 1 >"$out/wgsl.json"
[ -s "$out/wgsl.json" ] || { log "engine benchmark failed (exit $rc_wgsl); last lines:"; tail -n 20 "$out/wgsl.log" >&2; }

log "PyTorch baseline"
wgsl_arg=()
[ -s "$out/wgsl.json" ] && wgsl_arg=(--wgsl "$out/wgsl.json")
PYTHONUNBUFFERED=1 timeout 150 python3 packages/compute/bench/torch_compute.py --model "$kit/shared/models/stories260K-hf" "${wgsl_arg[@]}" >"$out/torch.json" 2>"$out/torch.log"
rc_torch=$?
[ "$rc_torch" = 0 ] || { log "PyTorch baseline exit $rc_torch; last lines:"; tail -n 20 "$out/torch.log" >&2; }

echo "check: $(cat "$out/check.json")"
echo "wgsl: $(cat "$out/wgsl.json")"
echo "torch: $(cat "$out/torch.json")"
rm -rf "$bin"
[ "$rc_check" = 0 ] && [ "$rc_wgsl" = 0 ] && [ "$rc_torch" = 0 ]
