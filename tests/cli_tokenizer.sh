#!/usr/bin/env bash
# cli_tokenizer.sh: `lathe tokenizer encode|decode|stats|info` on the real
# Llama 3 tokenizer (cache/llama3, fetched by scripts/fetch-test-data.sh):
# known ids, --json/--bos/--lines, decode reversing encode byte for byte, --help
# on every subcommand, and errors with the right exit codes (1 failure, 2 usage).
source "$(dirname "$0")/lib/cli.sh"
TOK=cache/llama3

expect 0 "usage: lathe tokenizer COMMAND" -- "$LATHE" tokenizer --help
expect 2 "usage: lathe tokenizer COMMAND" -- "$LATHE" tokenizer
expect 2 "unknown command 'frob'" -- "$LATHE" tokenizer frob
for sub in encode decode stats info; do
  expect 0 "usage: lathe tokenizer $sub" -- "$LATHE" tokenizer $sub --help
done
expect 2 "--tokenizer FILE_OR_DIR is required" -- "$LATHE" tokenizer encode --text hi
expect 2 "unknown option '--frob'" -- "$LATHE" tokenizer encode --frob
expect 1 "/nonexistent: no such file or directory" -- "$LATHE" tokenizer encode --tokenizer /nonexistent --text hi

if [ ! -f "$TOK/tokenizer.json" ]; then
  skip "$TOK/tokenizer.json is missing (run scripts/fetch-test-data.sh)"
  finish cli_tokenizer
fi

# Known Llama 3 ids (from the issue).
expect 0 "^2028 374 264 1296 11914 13$" -- "$LATHE" tokenizer encode --tokenizer $TOK --text "This is a test sentence."
expect 0 '^\[128000, 59312, 2788\]$' -- "$LATHE" tokenizer encode --tokenizer $TOK --text grabbed --json --bos
expect 0 "^87 128009 88 128001$" -- "$LATHE" tokenizer encode --tokenizer $TOK --text "x<|eot_id|>y" --eos
expect 0 "^87 27 91 68 354 851 91 29$" -- "$LATHE" tokenizer encode --tokenizer $TOK --text "x<|eot_id|>" --no-special
expect 0 "^This is a test sentence.$" -- "$LATHE" tokenizer decode --tokenizer $TOK --ids 2028,374,264,1296,11914,13
expect 0 "^x y$" -- "$LATHE" tokenizer decode --tokenizer $TOK --ids 87,128009,379 --skip-special
expect 0 "^vocabulary 128256 ids" -- "$LATHE" tokenizer info --tokenizer $TOK
expect 0 "bos +128000 <\|begin_of_text\|>" -- "$LATHE" tokenizer info --tokenizer $TOK
expect 2 "'1x' is not a token id" -- "$LATHE" tokenizer decode --tokenizer $TOK --ids 1x
expect 1 "id 999999 is not in the vocabulary" -- "$LATHE" tokenizer decode --tokenizer $TOK --ids 5,999999

# Whole-file round trip: decode(encode(file)) is the file, including bytes
# that are not UTF-8.
text=data/moby-dick-1-4.txt
printf 'caf\xc3\xa9 \xff\xfe broken \xe2\x82 end\n' >"$tmp/bad.txt"
for f in $text "$tmp/bad.txt"; do
  "$LATHE" tokenizer encode --tokenizer $TOK <"$f" >"$tmp/ids.txt"
  "$LATHE" tokenizer decode --tokenizer $TOK <"$tmp/ids.txt" >"$tmp/back.txt"
  same "$f" "$tmp/back.txt" "decode(encode($f))"
done
"$LATHE" tokenizer encode --tokenizer $TOK --json <$text | "$LATHE" tokenizer decode --tokenizer $TOK >"$tmp/back.txt"
same $text "$tmp/back.txt" "decode(encode --json)"

# --lines: one line of ids per input line, each encoded alone without its newline.
"$LATHE" tokenizer encode --tokenizer $TOK --lines <$text >"$tmp/lines.txt"
checks=$((checks + 1))
if [ "$(wc -l <"$tmp/lines.txt")" != "$(wc -l <$text)" ]; then
  echo "FAIL: encode --lines gave $(wc -l <"$tmp/lines.txt") lines for $(wc -l <$text)"; fails=$((fails + 1))
fi
line3=$(sed -n 3p $text)
expect 0 "^$(sed -n 3p "$tmp/lines.txt")$" -- "$LATHE" tokenizer encode --tokenizer $TOK --text "$line3"
"$LATHE" tokenizer decode --tokenizer $TOK --lines <"$tmp/lines.txt" >"$tmp/back.txt"
same $text "$tmp/back.txt" "decode --lines (encode --lines)"

# stats: bytes / tokens of a file, worked out from the ids above.
n_tokens=$(wc -w <"$tmp/ids.txt")
n_bytes=$(wc -c <"$tmp/bad.txt")
expect 0 "bad.txt +$n_bytes +$n_tokens " -- "$LATHE" tokenizer stats --tokenizer $TOK "$tmp/bad.txt"
expect 2 "give one or more FILES" -- "$LATHE" tokenizer stats --tokenizer $TOK
expect 1 "nope.txt: cannot open" -- "$LATHE" tokenizer stats --tokenizer $TOK "$tmp/nope.txt"

finish cli_tokenizer
