#!/usr/bin/env bash
# fetch-web-deps.sh: the two libraries the chat page (web/) renders answers with
# — marked (markdown to HTML) and DOMPurify (sanitises that HTML) — copied into
# the git-ignored web/vendor/, which `lathe serve` serves at /vendor/. The page
# is part of the product, so `make build` (and `make demo`) run this; without
# the files the page shows answers as plain text. Nothing is fetched at run time.
#
# Versions and the tarballs' SHA-256 are pinned; a tarball that does not match is
# refused. Tarballs come with `npm pack` (no install scripts run) or, without
# npm, straight from the registry with curl. Idempotent: nothing is fetched when
# web/vendor/VERSIONS already names these versions. A failed fetch (no network)
# is not an error: the page falls back to plain text and this says so.
#
#   web/vendor/marked.js       marked 18.3.0, lib/marked.umd.js   (MIT)
#   web/vendor/purify.js       dompurify 3.5.0, dist/purify.min.js (MPL-2.0 or Apache-2.0)
#   web/vendor/*-LICENSE       their licence texts
set -uo pipefail
cd "$(dirname "$0")/.."

# name version sha256-of-tarball file-in-package served-name
PACKAGES=(
  "marked 18.3.0 ac4b23ef5425d83f7aad00a81640d29e5b0fd81a6361a30fa96b4b8bb228ad24 lib/marked.umd.js marked.js"
  "dompurify 3.5.0 faa5f2bfe2814384b83d6edb4ed66812fbfdb2a654b4d59edd4b12304058ec20 dist/purify.min.js purify.js"
)
dest=web/vendor
want=$(printf '%s\n' "${PACKAGES[@]}" | cut -d' ' -f1,2)
if [ -f "$dest/VERSIONS" ] && [ "$(cat "$dest/VERSIONS")" = "$want" ]; then
  exit 0
fi

# download NAME VERSION DIR: NAME-VERSION.tgz into DIR.
download() {
  local name=$1 version=$2 dir=$3
  if command -v npm >/dev/null 2>&1; then
    (cd "$dir" && npm pack --silent "$name@$version" >/dev/null 2>pack.err) && return 0
    echo "fetch-web-deps: npm pack $name@$version failed: $(tail -n 2 "$dir/pack.err")" >&2
  fi
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$dir/$name-$version.tgz" "https://registry.npmjs.org/$name/-/$name-$version.tgz" &&
      return 0
  fi
  return 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/out"
for entry in "${PACKAGES[@]}"; do
  read -r name version sum file served <<<"$entry"
  echo "fetch-web-deps: $name@$version" >&2
  if ! download "$name" "$version" "$tmp"; then
    echo "fetch-web-deps: could not fetch $name@$version (offline?); the chat page shows plain text" >&2
    exit 0
  fi
  if ! echo "$sum  $tmp/$name-$version.tgz" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "fetch-web-deps: $name-$version.tgz does not have the pinned SHA-256 $sum; not installed" >&2
    exit 1
  fi
  mkdir -p "$tmp/$name"
  tar xzf "$tmp/$name-$version.tgz" -C "$tmp/$name" || exit 1
  cp "$tmp/$name/package/$file" "$tmp/out/$served" || exit 1
  for licence in "$tmp/$name"/package/LICENSE*; do
    cp "$licence" "$tmp/out/$name-$(basename "$licence")"
  done
done
echo "$want" >"$tmp/out/VERSIONS"
# Replace the folder as a whole, so a half-fetched one is never served.
rm -rf "$dest.new" && cp -r "$tmp/out" "$dest.new" && rm -rf "$dest" && mv "$dest.new" "$dest"
