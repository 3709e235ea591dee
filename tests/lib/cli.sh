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
