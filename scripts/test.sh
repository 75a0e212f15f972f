#!/usr/bin/env bash
# Sets up, builds and runs every test: the CI command.
#
# One build with ASan+UBSan and warnings as errors; ctest runs the unit,
# integration and crash tests and each benchmark once at minimal size; then
# the formatting check. Pass extra ctest arguments after the script name,
# e.g. `scripts/test.sh -R format`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

build=${SPOOL_BUILD_DIR:-build/ci}
jobs=${SPOOL_JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake -S . -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSPOOL_SANITIZE="address;undefined" \
  -DSPOOL_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$build" && ctest -j "$jobs" --output-on-failure --timeout 600 "$@")

scripts/check-format.sh
echo "test.sh: all tests passed"
