#!/usr/bin/env bash
# Builds the container image `beredd:local` on this machine, with no registry: the binary (the
# one `make build` makes) with its debug info stripped, plus exactly the shared libraries `ldd`
# lists, on an empty (`FROM scratch`) image.
#   deploy/build-image.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-beredd:local}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/beredd-target}"
cargo build --locked -q -p node --bin beredd
bin="$CARGO_TARGET_DIR/debug/beredd"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/etc/beredd" "$ctx/rootfs/tmp" "$ctx/data" "$ctx/certs"
strip -o "$ctx/rootfs/beredd" "$bin" 2>/dev/null || cp "$bin" "$ctx/rootfs/beredd"
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$ctx/rootfs$(dirname "$lib")"
  cp -L "$lib" "$ctx/rootfs$lib"
done
cp deploy/Dockerfile "$ctx/"
# The engine's legacy builder warns that it is deprecated (there is no buildx here): only show
# its output when the build fails.
if ! docker build -q -t "$tag" "$ctx" >"$ctx/build.log" 2>&1; then
  cat "$ctx/build.log" >&2
  exit 1
fi
echo "$tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
