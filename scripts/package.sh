#!/usr/bin/env bash
# Builds the Lambda deployment package(s) for the provided.al2023 runtime:
#   dist/bootstrap.zip         x86_64 (always)
#   dist/bootstrap-arm64.zip   arm64, only when the Rust target aarch64-unknown-linux-gnu is installed
# Each zip holds one file, `bootstrap` (mode 755), at its root: what provided.* runtimes execute.
#
# The binary is linked against glibc 2.34 (Amazon Linux 2023's) with cargo-zigbuild, whatever glibc the build
# machine has; scripts/install-zigbuild.sh installs the tools first (skipped when present).
#
# To add arm64:  rustup target add aarch64-unknown-linux-gnu   (then run this again; zig cross-links it,
# no other toolchain needed) and deploy the provider stack with Architecture=arm64 and the arm64 zip.
#
# Environment:
#   CARGO_TARGET_DIR   default target/package (kept apart from the debug build's target/ so that a
#                      package build and `cargo test` don't wait on each other's lock)
#   VENV               venv holding zig (default .venv)
#   GLIBC_VERSION      default 2.34
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
# Absolute: build scripts of -sys crates run zig (through this venv's python) from their own directories.
[[ "$VENV" = /* ]] || VENV="$ROOT/$VENV"
GLIBC_VERSION="${GLIBC_VERSION:-2.34}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/package}"
DIST="$ROOT/dist"

log() { echo "package: $*" >&2; }

"$ROOT/scripts/install-zigbuild.sh"
# cargo-zigbuild runs zig as `python -m ziglang`: point it at the venv that has it.
export CARGO_ZIGBUILD_PYTHON_PATH="$VENV/bin/python"

# zip the binary $1 as `bootstrap` at the root of the zip $2.
make_zip() {
    local binary="$1" out="$2" stage
    stage="$(mktemp -d)"
    install -m 0755 "$binary" "$stage/bootstrap"
    rm -f "$out"
    if command -v zip >/dev/null 2>&1; then
        # -X: no extra file attributes (uid/gid); the unix mode (755) is kept.
        (cd "$stage" && zip -q -X -9 "$out" bootstrap)
    else
        # Python's zipfile stores the file mode too.
        (cd "$stage" && python3 -m zipfile -c "$out" bootstrap)
    fi
    rm -rf "$stage"
}

# build <rust target> <zip path>
build() {
    local target="$1" out="$2"
    log "building $target (glibc $GLIBC_VERSION), release"
    cargo zigbuild --release --locked --bin bootstrap --target "$target.$GLIBC_VERSION"
    make_zip "$CARGO_TARGET_DIR/$target/release/bootstrap" "$out"
    log "wrote $out ($(stat -c %s "$out") bytes)"
}

mkdir -p "$DIST"
build x86_64-unknown-linux-gnu "$DIST/bootstrap.zip"

if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    build aarch64-unknown-linux-gnu "$DIST/bootstrap-arm64.zip"
else
    log "skipping arm64: Rust target aarch64-unknown-linux-gnu is not installed" \
        "(add it with: rustup target add aarch64-unknown-linux-gnu)"
fi
