#!/usr/bin/env bash
# Sets up, builds (release) and runs the demo. Arguments go to `spool demo`,
# e.g. `scripts/demo.sh --data-dir /tmp/spool-demo --reset`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

build=${SPOOL_BUILD_DIR:-build/release}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DSPOOL_BUILD_TESTS=OFF -DSPOOL_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target spool
exec "$build/tools/spool" demo "$@"
