#!/usr/bin/env bash
# Builds bench/device/payload/ (git-ignored): what the GPU check (run.sh) needs on a machine
# that has an NVIDIA GPU and Python with PyTorch but no Node, no npm packages and no internet.
# The Python programs (the torch trainer, bench/torch_child.py) and fashion-mnist-mini are not
# in it: they are read from the working tree, which travels with it.
# Run here, on the development machine (x86-64 Linux, `npm ci` done), from anywhere:
#   bash bench/device/pack.sh
# Everything is compressed with xz, stripped where it is a binary, so that the payload and
# the working tree travel together under 64 MiB; the total is printed and checked.
set -euo pipefail
cd "$(dirname "$0")/../.."
PAYLOAD=bench/device/payload
LIMIT_MIB=60
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

[ "$(uname -m)" = x86_64 ] || { echo "pack.sh: the GPU machine is x86-64; build the payload on x86-64 (this is $(uname -m))" >&2; exit 1; }
command -v xz >/dev/null || { echo 'pack.sh: needs xz (apt-get install xz-utils)' >&2; exit 1; }
mkdir -p "$PAYLOAD"
# xz -9e of the whole file: one block, the best ratio (the payload's size is what counts)
squeeze() { xz -9e -T1 -c "$1" > "$2"; }
stripped() { cp "$1" "$2"; if command -v strip >/dev/null; then strip "${@:3}" "$2"; fi; }

# 1. Node, the one this repository was tested with; kept when it is already packed
NODE_BIN=$(readlink -f "$(command -v node)")
NODE_ID="$(node --version) $(stat -c %s "$NODE_BIN")"
if [ -f "$PAYLOAD/node.xz" ] && [ "$(cat "$PAYLOAD/node.id" 2>/dev/null)" = "$NODE_ID" ]; then
  echo "node $NODE_ID: already packed"
else
  echo "node $NODE_ID: stripping and compressing (a minute or two)"
  stripped "$NODE_BIN" "$TMP/node"
  squeeze "$TMP/node" "$PAYLOAD/node.xz"
  echo "$NODE_ID" > "$PAYLOAD/node.id"
fi

# 2. Dawn (npm package webgpu): its index.js loads dist/<platform>-<arch>/dawn.node beside
# itself, so run.sh lays out node_modules/webgpu next to the bundle, which leaves it external.
WEBGPU=node_modules/webgpu
mkdir -p "$PAYLOAD/webgpu"
cp "$WEBGPU/package.json" "$WEBGPU/index.js" "$PAYLOAD/webgpu/"
stripped "$WEBGPU/dist/linux-x64/dawn.node" "$TMP/dawn.node" --strip-unneeded
squeeze "$TMP/dawn.node" "$PAYLOAD/dawn.node.xz"

# 3. The benchmark, one ES module. The native and WASM backends are never used there and
# stay out; CommonJS packages inside the bundle need a `require`.
npx esbuild bench/device/gpu-bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --external:@tensorflow/tfjs-backend-wasm --minify-whitespace --minify-syntax --log-level=warning \
  --banner:js="import { createRequire as __nasnetRequire } from 'node:module'; const require = __nasnetRequire(import.meta.url);" \
  --outfile="$TMP/gpu-bench.mjs"
squeeze "$TMP/gpu-bench.mjs" "$PAYLOAD/gpu-bench.mjs.xz"
# No Python in the payload: bench/torch_child.py imports the torch trainer's PlanNetwork, and
# both run from the working tree, which travels beside the payload (run.sh runs from its root).
rm -f "$PAYLOAD/torch_child.py"

# 4. The Vulkan loader, and the GL dispatch libraries NVIDIA's Vulkan driver links against,
# from Debian's packages; run.sh uses each only where the machine lacks it.
rm -rf "$PAYLOAD/lib" && mkdir -p "$PAYLOAD/lib" "$TMP/debs" "$TMP/root"
LIBS='libvulkan1 libglvnd0 libglx0 libegl1'
if (cd "$TMP/debs" && apt-get download $LIBS >/dev/null 2>&1); then
  for deb in "$TMP"/debs/*.deb; do dpkg -x "$deb" "$TMP/root"; done
  # the files named by soname (libvulkan.so.1, ...), links followed
  find "$TMP/root" -name '*.so.[0-9]' -exec cp -L {} "$PAYLOAD/lib/" \;
else
  echo "pack.sh: apt-get download $LIBS failed (apt-get update first?); taking this machine's copies" >&2
  for so in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libEGL.so.1; do
    path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64/ { print $NF; exit }')
    if [ -n "$path" ]; then cp -L "$path" "$PAYLOAD/lib/"; else echo "pack.sh: $so not found here" >&2; fi
  done
fi

# 5. Fashion-MNIST (the machine cannot download it), recompressed from gzip to xz
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
rm -rf "$PAYLOAD/data" && mkdir -p "$PAYLOAD/data"
for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -f "$DATA/$name.gz" ]; then gunzip -c "$DATA/$name.gz" > "$TMP/$name"
  elif [ -f "$DATA/$name" ]; then cp "$DATA/$name" "$TMP/$name"
  else echo "pack.sh: $DATA/$name[.gz] is missing: no training on the GPU machine (apt-get install dataset-fashion-mnist, or FASHION_MNIST_DIR=...)" >&2; rm -rf "$PAYLOAD/data"; break
  fi
  squeeze "$TMP/$name" "$PAYLOAD/data/$name.xz"
done

echo
(cd "$PAYLOAD" && find . -type f ! -name node.id -printf '%s\t%p\n' | sort -k2 | awk -F'\t' '{ printf "%10.2f MiB  %s\n", $1 / 1048576, $2 }')
TOTAL=$(du -sb "$PAYLOAD" | cut -f1)
TREE=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
awk -v p="$TOTAL" -v t="$TREE" 'BEGIN { printf "payload %.2f MiB; with the working tree (%.2f MiB), %.2f MiB to travel\n", p / 1048576, t / 1048576, (p + t) / 1048576 }'
if [ "$TOTAL" -gt $((LIMIT_MIB * 1048576)) ]; then
  echo "pack.sh: the payload is over $LIMIT_MIB MiB: it and the working tree must travel in 64 MiB" >&2
  exit 1
fi
