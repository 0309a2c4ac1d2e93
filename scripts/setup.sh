#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs the Debian packages and the Python venv (torch
# wheel for LibTorch + reference packages), builds lmc, then runs the main job. Idempotent: what is
# already there is reused.  Usage: scripts/setup.sh [--no-main]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${LMC_VENV:-$HOME/.cache/lmc/venv}

debian_packages=(
  build-essential cmake ninja-build ccache pkg-config python3 python3-venv git
  libsentencepiece-dev libhdf5-dev libyaml-cpp-dev libgtest-dev libgmock-dev libpcre2-dev nlohmann-json3-dev
  libcli11-dev zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libflac-dev libxxhash-dev libgloo-dev
  flac xz-utils bzip2 zstd gzip
)

install_debian_packages() {
  local missing=()
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_venv() {
  local stamp="$venv/.lmc-requirements"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$root/tools/requirements.txt"; then return 0; fi
  echo "setup: installing Python packages into $venv (torch is a large download: a few minutes)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/tools/requirements.txt"
  cp "$root/tools/requirements.txt" "$stamp"
}

main_job() {
  # Compresses a held-out sample (Austen, never seen in training) with the default model, checks the
  # round trip, and sets the result next to xz -9e's.
  local sample="$root/models/sample.txt" work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  "$root/build/lmc" compress -k -o "$work/sample.lmc" "$sample"
  "$root/build/lmc" decompress -k -o "$work/sample.txt" "$work/sample.lmc"
  cmp -s "$sample" "$work/sample.txt" || { echo "setup: the round trip of $sample is not exact" >&2; return 1; }
  xz -9e -c "$sample" > "$work/sample.xz"
  local size lmc xz
  # One assignment a line: on a shared line only the last substitution's failure would stop the script.
  size=$(stat -c %s "$sample")
  lmc=$(stat -c %s "$work/sample.lmc")
  xz=$(stat -c %s "$work/sample.xz")
  awk -v n="$size" -v l="$lmc" -v x="$xz" 'BEGIN {
    printf "models/sample.txt: %d bytes\n  lmc (default model): %6d bytes, ratio %.2f\n  xz -9e:              %6d bytes, ratio %.2f\n",
           n, l, n / l, x, n / x }'
}

install_debian_packages
install_venv
"$root/scripts/build.sh" "$root/build"
if [ "${1:-}" != "--no-main" ]; then main_job; fi
