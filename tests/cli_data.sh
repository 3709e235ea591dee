#!/usr/bin/env bash
# cli_data.sh: `lathe data tokenize|info` end to end — a tiny tokenizer trained
# here, the bundled Moby-Dick chapters cut into paragraphs (counted
# independently with awk), a held-out split, JSONL input, determinism, and a
# clear error with the right exit code (1 failure, 2 usage) for each bad input,
# with nothing written when tokenizing fails.
source "$(dirname "$0")/lib/cli.sh"

check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  checks=$((checks + 1))
  if ! "$@"; then echo "FAIL: $what"; fails=$((fails + 1)); fi
}

text=data/moby-dick-1-4.txt
expect 0 "usage: lathe data COMMAND" -- "$LATHE" data --help
expect 2 "usage: lathe data COMMAND" -- "$LATHE" data
expect 2 "unknown command 'frob'" -- "$LATHE" data frob
expect 0 "usage: lathe data tokenize" -- "$LATHE" data tokenize --help
expect 0 "usage: lathe data info" -- "$LATHE" data info --help
expect 0 "data +tokenize text" -- "$LATHE" --help

"$LATHE" tokenizer train --vocab 400 --input $text --out "$tmp/tok" >/dev/null 2>&1
tok="$tmp/tok"

# Usage errors (exit 2).
expect 2 "--tokenizer FILE_OR_DIR is required" -- "$LATHE" data tokenize --out "$tmp/x.bin" $text
expect 2 "--out OUT.bin is required" -- "$LATHE" data tokenize --tokenizer "$tok" $text
expect 2 "no INPUT files given" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin"
expect 2 "unknown option '--bogus'" -- "$LATHE" data tokenize --bogus --tokenizer "$tok" --out "$tmp/x.bin" $text
expect 2 "--val needs --val-fraction" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" --val "$tmp/v.bin" $text
expect 2 "--val-fraction: 'half' is not a number" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" --val-fraction half $text
expect 2 "--val-fraction 1.5 must be in \[0, 1\)" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" --val-fraction 1.5 $text
expect 2 "--seed: -1 is outside" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" --seed -1 $text
expect 2 "--split 'para': expected file, line or blank" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" --split para $text
expect 2 "no SHARD given" -- "$LATHE" data info
check "nothing written after usage errors" test ! -e "$tmp/x.bin"

# Runtime errors (exit 1).
expect 1 "nope.txt: no such input file" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" "$tmp/nope.txt"
expect 1 "no-tokenizer: no such file" -- "$LATHE" data tokenize --tokenizer "$tmp/no-tokenizer" --out "$tmp/x.bin" $text
printf '{"text": "fine"}\n{"text": 3}\n' >"$tmp/bad.jsonl"
expect 1 "bad.jsonl:2: field 'text' is not a string" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" $text "$tmp/bad.jsonl"
printf '{"text": "fine"}\n\n{"text": "a" oops}\n' >"$tmp/bad2.jsonl"
expect 1 "bad2.jsonl:3: invalid JSON" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/x.bin" "$tmp/bad2.jsonl"
check "nothing written after a failed tokenize" test -z "$(ls "$tmp" | grep -E '^x\.bin')"

# Paragraphs of Moby-Dick, 10% held out (default validation path).
paragraphs=$(awk 'BEGIN{RS=""} END{print NR}' $text)
expect 0 "wrote $tmp/m.bin: .* documents" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/m.bin" --split blank --val-fraction 0.1 --seed 3 $text
check "validation shard at the default path" test -f "$tmp/m.val.bin"
docs() { "$LATHE" data info "$1" | awk '/^documents/ {gsub(",", "", $2); print $2}'; }
check "every paragraph is a document ($paragraphs)" test $(( $(docs "$tmp/m.bin") + $(docs "$tmp/m.val.bin") )) = "$paragraphs"
check "some paragraphs were held out" test "$(docs "$tmp/m.val.bin")" -gt 0
expect 0 "format +version 1, uint16 tokens, checksum fnv1a64 [0-9a-f]{16} \(verified\)" -- "$LATHE" data info "$tmp/m.bin"
expect 0 "vocab +400 \(bos 392, eos 393\)" -- "$LATHE" data info "$tmp/m.val.bin"
"$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/m2.bin" --val "$tmp/m2-val.bin" --split blank --val-fraction 0.1 --seed 3 $text >/dev/null 2>&1
check "tokenizing is deterministic (train)" cmp -s "$tmp/m.bin" "$tmp/m2.bin"
check "tokenizing is deterministic (validation)" cmp -s "$tmp/m.val.bin" "$tmp/m2-val.bin"

# Text bytes are counted exactly: file mode keeps the whole file, line mode drops line ends.
printf 'hello world\n' >"$tmp/h.txt"
printf '{"text": "caf\\u00e9"}\n' >"$tmp/h.jsonl"
"$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/h.bin" "$tmp/h.txt" "$tmp/h.jsonl" >/dev/null 2>&1
expect 0 "text bytes +17 " -- "$LATHE" data info "$tmp/h.bin"
expect 0 "documents +2 " -- "$LATHE" data info "$tmp/h.bin"
expect 0 "wrote .*h2.bin: 2 documents.* 22 bytes of text" -- "$LATHE" data tokenize --tokenizer "$tok" --out "$tmp/h2.bin" --split line "$tmp/h.txt" "$tmp/h.txt"

# Corrupt shards.
head -c 100 "$tmp/m.bin" >"$tmp/cut.bin"
expect 1 "cut.bin: truncated: 100 bytes" -- "$LATHE" data info "$tmp/cut.bin"
expect 1 "moby-dick-1-4.txt: bad magic" -- "$LATHE" data info $text
cp "$tmp/m.bin" "$tmp/flip.bin"
byte=$(od -An -tu1 -j200 -N1 "$tmp/flip.bin" | tr -d ' ')
printf "\\$(printf '%03o' $(( byte ^ 1 )))" | dd of="$tmp/flip.bin" bs=1 seek=200 conv=notrunc 2>/dev/null
expect 1 "flip.bin: checksum mismatch" -- "$LATHE" data info "$tmp/flip.bin"

echo "$checks checks, $fails failures"
[ $fails = 0 ]
