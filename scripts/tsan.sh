#!/usr/bin/env bash
# Builds with ThreadSanitizer and runs the concurrency tests (every test
# whose name mentions concurrency, parallel, threads or group commit, the
# file cache's, and every test of the parts with background threads:
# the cleaner, retention, shared subscriptions and consumer groups). The
# SIGKILL tests are left out (fork under TSan is slow and adds nothing). RocksDB is not TSan-instrumented; reports inside it are
# suppressed (scripts/tsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
build=${SPOOL_TSAN_BUILD_DIR:-build/tsan}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSPOOL_SANITIZE=thread -DSPOOL_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
(cd "$build" && ctest -j "$(nproc)" --output-on-failure --timeout 900 \
  -R 'Concurren|Parallel|Thread|GroupCommit|FileCache|Concurrent|WaitFor|LongPoll|Clean|Compact|Retention|Subscription|ConsumerGroup' \
  -E 'Kill' "$@")
echo "tsan.sh: concurrency tests clean under TSan"
