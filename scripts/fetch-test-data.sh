#!/usr/bin/env bash
# fetch-test-data.sh: fetch what the tests need from the npm registry into the
# git-ignored cache/ folder. Idempotent. (Filled in as test peers are added.)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p cache
