#!/usr/bin/env bash
# Installs the Debian packages Spool builds against, if any are missing.
# Idempotent and silent when everything is already present.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  librocksdb-dev libabsl-dev libzstd-dev libsnappy-dev liblz4-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  clang-format ninja-build
)
# Fuzz targets and the clang-based CI steps use clang with libFuzzer.
if [[ "${SPOOL_WITH_CLANG:-0}" == 1 ]]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "bootstrap: installing missing packages: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/spool-bootstrap.log 2>&1; then
  # A fresh machine may have no package lists yet.
  $sudo apt-get update -q >>/tmp/spool-bootstrap.log 2>&1
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/spool-bootstrap.log 2>&1 || {
    echo "bootstrap: apt-get failed; see /tmp/spool-bootstrap.log" >&2
    tail -20 /tmp/spool-bootstrap.log >&2
    exit 1
  }
fi
echo "bootstrap: done" >&2
