#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU (bench/device/README.md). From the
# repository's root, with bench/device/payload/ built by pack.sh beside it:
#   bash bench/device/run.sh [gpu-bench flags]        e.g. --minutes 8, or --smoke
# Environment: NASNET_PAYLOAD (default bench/device/payload), NASNET_GPU_WORK, NODE (another
# Node than the payload's), NASNET_PAYLOAD_LIBS=1 (the payload's libraries over the machine's).
# Unpacks the payload into $NASNET_GPU_WORK (default /tmp/nasnet-gpu-check), finds a Vulkan
# loader and NVIDIA's Vulkan driver, prints the GPU, and runs the bundled benchmark with the
# bundled Node. The JSON goes to $OUT/gpu-check.json when $OUT is set, else to stdout.
# The benchmark runs in the repository's root: the torch trainer, bench/torch_child.py and
# fashion-mnist-mini are the working tree's (--repo to read them elsewhere).
set -uo pipefail
cd "$(dirname "$0")/../.."
PAYLOAD=${NASNET_PAYLOAD:-bench/device/payload}
WORK=${NASNET_GPU_WORK:-/tmp/nasnet-gpu-check}
say() { echo "[run.sh] $*" >&2; }
[ -f "$PAYLOAD/node.xz" ] || { say "no payload at $PAYLOAD: build it with bash bench/device/pack.sh (and carry bench/device/payload)"; exit 1; }

# xz where installed, else Python's lzma (Python is there: it runs PyTorch)
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

unpack() {
  rm -rf "$WORK" && mkdir -p "$WORK/bin" "$WORK/lib" "$WORK/app/node_modules/webgpu/dist/linux-x64" "$WORK/data/fashion-mnist" || return 1
  # all at once, one core each
  local pids=()
  unxz_to "$PAYLOAD/node.xz" "$WORK/bin/node" & pids+=($!)
  unxz_to "$PAYLOAD/dawn.node.xz" "$WORK/app/node_modules/webgpu/dist/linux-x64/dawn.node" & pids+=($!)
  unxz_to "$PAYLOAD/gpu-bench.mjs.xz" "$WORK/app/gpu-bench.mjs" & pids+=($!)
  for f in "$PAYLOAD"/data/*.xz; do
    if [ -f "$f" ]; then unxz_to "$f" "$WORK/data/fashion-mnist/$(basename "$f" .xz)" & pids+=($!); fi
  done
  for pid in "${pids[@]}"; do wait "$pid" || return 1; done
  chmod +x "$WORK/bin/node"
  cp "$PAYLOAD"/webgpu/* "$WORK/app/node_modules/webgpu/" || return 1
  # a library of the payload only where the machine has none of that soname
  # (NASNET_PAYLOAD_LIBS=1: all of them, e.g. where the machine's Vulkan loader is too old)
  for so in "$PAYLOAD"/lib/*; do
    if [ "${NASNET_PAYLOAD_LIBS:-}" = 1 ] || ! ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$(basename "$so") "; then cp "$so" "$WORK/lib/"; fi
  done
}

# NVIDIA's Vulkan driver: a manifest (ICD) in the standard places, else where this GPU
# provider mounts the driver, which the loader does not search
find_icd() {
  if [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then say "Vulkan driver given: ${VK_DRIVER_FILES:-$VK_ICD_FILENAMES}"; return; fi
  local found
  found=$(ls /etc/vulkan/icd.d/*nvidia*.json /usr/share/vulkan/icd.d/*nvidia*.json /usr/local/share/vulkan/icd.d/*nvidia*.json 2>/dev/null | head -1)
  if [ -n "$found" ]; then say "Vulkan driver: $found"; return; fi
  local mounted=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$mounted" ]; then
    export VK_DRIVER_FILES=$mounted VK_ICD_FILENAMES=$mounted
    say "Vulkan driver: $mounted (VK_DRIVER_FILES)"
  else
    say "no NVIDIA Vulkan driver manifest found: WebGPU will find no GPU adapter"
  fi
}

# What the driver's library needs and cannot find, said before Dawn fails on it silently
check_icd_library() {
  local manifest=${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}
  [ -n "$manifest" ] && [ -f "$manifest" ] || return 0
  local library
  library=$(sed -n 's/.*"library_path"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -1)
  [ -n "$library" ] || return 0
  local path=$library
  [ "${library#/}" = "$library" ] && path=$(ldconfig -p | awk -v so="$library" '$1 == so { print $NF; exit }')
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    if [ -z "$path" ] && [ -f "$dir/$library" ]; then path=$dir/$library; export LD_LIBRARY_PATH="$dir:$LD_LIBRARY_PATH"; fi
  done
  if [ -z "$path" ]; then say "the driver's library $library is not on the library path"; return 0; fi
  say "driver library: $path"
  ldd "$path" 2>/dev/null | grep 'not found' | sed 's/^/[run.sh]   missing: /' >&2 || true
}

say "unpacking $PAYLOAD into $WORK"
unpack || { say 'unpacking failed'; exit 1; }
export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "libraries taken from the payload: $(ls "$WORK/lib" | tr '\n' ' ')"
find_icd
check_icd_library
if ls "$WORK"/data/fashion-mnist/*-ubyte >/dev/null 2>&1; then export NASNET_DATA="$WORK/data"; else say 'no Fashion-MNIST in the payload: the training looks in /usr/share/datasets'; fi
if command -v nvidia-smi >/dev/null; then nvidia-smi >&2; else say 'no nvidia-smi'; fi
exec "${NODE:-$WORK/bin/node}" "$WORK/app/gpu-bench.mjs" "$@"
