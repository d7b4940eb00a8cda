#!/usr/bin/env bash
# Installs the tools that scripts/package.sh needs, idempotently (each step is skipped when already done):
#   - zig, from the Python package `ziglang`, into the project's venv (.venv, created if missing);
#   - cargo-zigbuild, from crates.io, with `cargo install --locked` (about 1-2 minutes on 2 cores).
#
# Why zig: Lambda's provided.al2023 runtime has glibc 2.34. Linking with the host's toolchain links against
# whatever glibc the build machine has (newer ones add symbol versions AL2023 lacks). cargo-zigbuild links
# with `zig cc` against glibc 2.34 stubs when the target is spelled `x86_64-unknown-linux-gnu.2.34`.
#
# The versions are pinned together: cargo-zigbuild 0.24 knows the command-line differences of zig
# 0.15 (and 0.16); zig 0.15.2 is the one this project builds and tests with.
#
# Environment:
#   VENV                     the venv to put zig into (default: .venv at the repository root)
#   ZIGLANG_VERSION          default 0.15.2
#   CARGO_ZIGBUILD_VERSION   default 0.24.1
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# Absolute: build scripts of -sys crates run zig (through this venv's python) from their own directories.
[[ "$VENV" = /* ]] || VENV="$ROOT/$VENV"
ZIGLANG_VERSION="${ZIGLANG_VERSION:-0.15.2}"
CARGO_ZIGBUILD_VERSION="${CARGO_ZIGBUILD_VERSION:-0.24.1}"

log() { echo "install-zigbuild: $*" >&2; }

# --- zig (PyPI ziglang) --------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
fi
have_zig="$("$VENV/bin/python" -m ziglang version 2>/dev/null || true)"
if [[ "$have_zig" == "$ZIGLANG_VERSION" ]]; then
    log "zig $have_zig already installed"
else
    log "installing ziglang==$ZIGLANG_VERSION (found: ${have_zig:-none})"
    "$VENV/bin/python" -m pip install --quiet "ziglang==$ZIGLANG_VERSION"
fi

# --- cargo-zigbuild (crates.io) ------------------------------------------------------------------------
# `cargo install --list` has a line "cargo-zigbuild v0.24.1:" once installed.
have_czb="$(cargo install --list 2>/dev/null | sed -n 's/^cargo-zigbuild v\([0-9.]*\):$/\1/p')"
if [[ "$have_czb" == "$CARGO_ZIGBUILD_VERSION" ]]; then
    log "cargo-zigbuild $have_czb already installed"
else
    log "installing cargo-zigbuild $CARGO_ZIGBUILD_VERSION (found: ${have_czb:-none}); takes 1-2 minutes"
    cargo install --locked --quiet cargo-zigbuild --version "$CARGO_ZIGBUILD_VERSION"
fi
