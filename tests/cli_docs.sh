#!/usr/bin/env bash
# cli_docs.sh: the README runs as written. Every "$ " block of README.md (marked
# <!-- doc-test: run -->) is executed in a scratch folder and its shown output compared with
# what lathe prints; every other command line of README.md and docs/*.md is checked for a real
# subcommand, flags its --help lists, make targets and script paths (tests/doc_commands.py).
set -euo pipefail
source "$(dirname "$0")/lib/cli.sh"
cd "$LATHE_ROOT"
python3 tests/doc_commands.py --list "$LATHE_ROOT" "$LATHE" README.md docs/*.md
# The README's numbers come from the Release build; the sanitizer build (other optimisation
# flags) rounds floating point differently, so there only the text around the numbers must match.
loose=()
[ "${LATHE_SANITIZED:-OFF}" = ON ] && loose=(--loose-numbers)
python3 tests/doc_commands.py "${loose[@]}" "$LATHE_ROOT" "$LATHE" README.md
python3 tests/doc_commands.py --check-only "$LATHE_ROOT" "$LATHE" docs/*.md
