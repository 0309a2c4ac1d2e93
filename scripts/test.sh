#!/usr/bin/env bash
# Runs the whole test suite: makes sure the set-up is in place (without the main job), builds, then
# runs every GoogleTest and oracle test through CTest on all cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" --no-main
# Two tests run at once on two cores; OpenMP threads that spin while waiting would starve each other.
export OMP_WAIT_POLICY=PASSIVE
ctest --test-dir "$root/build" --output-on-failure -j "$(nproc)" --timeout 1200
