#!/usr/bin/env bash
# Fails if any C++ file in the repository is not clang-formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h')
[[ -z "$files" ]] && exit 0
if ! echo "$files" | xargs clang-format --dry-run -Werror 2>/tmp/spool-format.log; then
  echo "check-format: these files need clang-format:" >&2
  grep -o '^[^:]*:' /tmp/spool-format.log | sort -u >&2
  exit 1
fi
