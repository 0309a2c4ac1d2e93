#!/usr/bin/env bash
# Configures (once) and builds lmc against the torch wheel in the venv: scripts/build.sh [BUILD_DIR] [TARGET...]
# Expects scripts/setup.sh to have installed the Debian packages and the venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${LMC_VENV:-$HOME/.cache/lmc/venv}
build=${1:-$root/build}
shift || true
if [ ! -x "$venv/bin/python" ]; then
  echo "scripts/build.sh: no venv at $venv; run scripts/setup.sh first" >&2
  exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  prefix=$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
    -DCMAKE_PREFIX_PATH="$prefix" -DLMC_PYTHON="$venv/bin/python" >"$build.configure.log" 2>&1 || {
    cat "$build.configure.log" >&2; exit 1; }
fi
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
ninja -C "$build" "$@"
