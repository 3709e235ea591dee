# tests/lib/cli.sh: what every tests/cli_*.sh shares — the lathe binary, a
# temporary directory removed on exit, the check counters, and the helpers
# below. Source it; end the script with `finish NAME`.
set -u
LATHE=${LATHE_BIN:-build/lathe}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0

# expect CODE PATTERN -- command...: exit code and a pattern in stdout+stderr.
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  checks=$((checks + 1))
  if [ "$rc" != "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (expected $code), output:"; echo "$out" | head -5
    echo "      expected pattern: $pattern"
    fails=$((fails + 1))
  fi
}

# same A B WHAT: files A and B are byte-identical.
same() {
  checks=$((checks + 1))
  if ! cmp -s "$1" "$2"; then echo "FAIL: $3 ($1 and $2 differ)"; fails=$((fails + 1)); fi
}

# interrupt SIGNAL STEP OUT LOG -- COMMAND...: runs COMMAND in the background,
# sends SIGNAL once OUT/metrics.jsonl has logged STEP, and waits; the exit code
# lands in $rc, stdout and stderr in LOG. (lathe installs its own handler, so
# the SIGINT a non-interactive shell ignores in background jobs still arrives.)
interrupt() {
  local sig=$1 step=$2 out=$3 log=$4; shift 5
  "$@" >"$log" 2>&1 &
  local pid=$! waited=0
  until grep -q "\"step\":$step," "$out/metrics.jsonl" 2>/dev/null; do
    sleep 0.02; waited=$((waited + 1))
    if [ $waited -gt 3000 ] || ! kill -0 $pid 2>/dev/null; then break; fi
  done
  kill -s "$sig" $pid 2>/dev/null
  wait $pid; rc=$?
}

# resume_line LOG: the command an interrupted run printed (it names the binary as it was run).
resume_line() { grep -A1 '^resume with:' "$1" | tail -1 | sed 's/^  //'; }

# skip WHY: part of the test cannot run here (a missing tool or test data). The
# rest still runs; ctest then reports the test Skipped, not Passed.
skipped=0
skip() { echo "SKIP: $*"; skipped=1; }

# finish NAME: the summary line and the exit status ctest reads — 1 when a
# check failed or none was made, 77 (SKIP_RETURN_CODE) when part was skipped,
# else 0.
finish() {
  echo "$1: $checks checks, $fails failures$([ "$skipped" = 0 ] || echo ', part skipped')"
  [ "$fails" = 0 ] || exit 1
  [ "$checks" -gt 0 ] || [ "$skipped" = 1 ] || { echo "FAIL: $1 made no check"; exit 1; }
  [ "$skipped" = 0 ] || exit 77
  exit 0
}
