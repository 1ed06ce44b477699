#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build beredd: a C++ compiler and libclang
# (RocksDB's build and bindgen), make, python3 for scripts and curl for the HTTPS test; with
# --test also Chromium and its WebDriver (browser tests), poppler-utils (reading PDFs) and Docker
# with docker-compose (fault scenarios). Rust itself must already be
# installed (rustup); nothing is downloaded from anywhere but Debian's package archive.
set -euo pipefail

need=()
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v clang >/dev/null || need+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
if [ "${1:-}" = "--test" ]; then
  # The browser tests drive a real headless Chromium; exports are read back with poppler.
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  command -v pdftotext >/dev/null || need+=(poppler-utils)
  # The SAML login tests' IdP (pysaml2, in the venv) signs with xmlsec1.
  command -v xmlsec1 >/dev/null || need+=(xmlsec1)
  # The card test puts a smart card's certificate into Chromium's NSS database.
  command -v certutil >/dev/null || need+=(libnss3-tools)
  command -v openssl >/dev/null || need+=(openssl)
  # The fault scenarios run the cluster in containers (Docker Engine must be running).
  command -v docker >/dev/null || need+=(docker.io)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v strip >/dev/null || need+=(binutils)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust (1.88 or newer) with rustup first" >&2
  exit 1
fi
