#!/usr/bin/env bash
# install-deps.sh: install the Debian packages lathe needs to build and test.
# Idempotent: packages already present are skipped, and apt-get runs only when
# something is missing. Runs as root (CI and the dev machines are root); uses
# sudo when available otherwise.
set -euo pipefail

# Build and runtime libraries.
PKGS=(
  build-essential cmake pkg-config
  libopenblas-openmp-dev   # f32 GEMM (OpenMP build, shares threads with our OpenMP)
  libdnnl-dev              # oneDNN: bf16 matmul
  libcjson-dev             # JSON reader/writer
  libpcre2-dev             # tokenizer pre-tokenizer regex
  libmicrohttpd-dev        # HTTP server of lathe serve
)
# Test-only peers: PyTorch (golden values), numpy (independent safetensors writer),
# Chromium (the browser test of lathe serve's page).
if [ "${LATHE_SKIP_TEST_DEPS:-0}" != "1" ]; then
  PKGS+=(python3-numpy python3-torch chromium)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
