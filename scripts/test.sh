#!/usr/bin/env bash
# The whole test suite, from a fresh clone: the Rust tests, then the
# end-to-end tests (tests/e2e, pytest + pyarrow) against the release binary.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -k errors  # extra arguments go to pytest
#
# Creates .venv (beside this script's repository) when it is missing and
# installs tests/requirements.txt into it. Honours CARGO_TARGET_DIR, and
# SLUICEGATE_BIN to test a binary built elsewhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
PY="$VENV/bin/python"

step() { printf '\n==> %s\n' "$*"; }

if ! "$PY" -m pip --version >/dev/null 2>&1; then
    step "creating $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        # Debian's python3 ships venv without ensurepip; the package adds it.
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && apt-get install -y -qq python3-venv
            rm -rf "$VENV"
            python3 -m venv "$VENV"
        else
            echo "python3 -m venv failed; install python3-venv" >&2
            exit 1
        fi
    fi
fi

step "installing tests/requirements.txt"
"$PY" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

# The release profile links with fat LTO over one code-generation unit,
# minutes per binary; the suite's half a dozen binaries use thin LTO, which
# changes how fast the code runs, not what it does.
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-thin}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-4}"

step "cargo build --release --all-features"
cargo build --release --all-features

step "cargo test --release --all-features"
cargo test --release --all-features

export SLUICEGATE_BIN="${SLUICEGATE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/sluicegate}"
step "pytest tests/e2e (binary: $SLUICEGATE_BIN)"
"$PY" -m pytest tests/e2e -q --tb=short -p no:cacheprovider "$@"
