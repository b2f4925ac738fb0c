#!/usr/bin/env bash
# Builds and tests the Python bindings (module `flockport`).
#
#   flockport-py/ci.sh [VENV]
#
# 1. a virtualenv: VENV, or $FLOCKPORT_PY_VENV, or flockport-py/.venv (created
#    with $PYTHON, default python3, when missing);
# 2. maturin, pytest and mypy into it;
# 3. the module built in release mode and installed into it:
#    `maturin develop --release` (default) or, with FLOCKPORT_PY_INSTALL=pip,
#    `pip install ./flockport-py` exactly as a user would;
# 4. flockport.pyi is what flockport-core's declaration generates, and
#    mypy's stubtest checks it against the built module;
# 5. mypy --strict on the tests and the Python example (the stubs are usable
#    as typed API);
# 6. pytest. Lab tests skip without the lab (tests/lab/lab up) unless
#    FLOCKPORT_LAB=required.
#
# Needs: python3 (3.8+) with venv, a Rust toolchain (cargo), network access to
# PyPI and crates.io on first run. Exits non-zero on any failure.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
VENV=${1:-${FLOCKPORT_PY_VENV:-$HERE/.venv}}
PYTHON=${PYTHON:-python3}
INSTALL=${FLOCKPORT_PY_INSTALL:-maturin}

step() { printf '\n== %s\n' "$*"; }
die() { printf 'ci.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"

step "virtualenv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=...)"
    "$PYTHON" -m venv "$VENV" || die "cannot create a venv (Debian: apt-get install python3-venv)"
fi
PY=$VENV/bin/python
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet "maturin>=1.7,<2" "pytest>=7" "mypy>=1.10"
"$PY" --version

step "build and install ($INSTALL)"
case "$INSTALL" in
    maturin)
        (cd "$HERE" && VIRTUAL_ENV=$VENV PATH="$VENV/bin:$PATH" maturin develop --release)
        ;;
    pip)
        "$PY" -m pip install --force-reinstall --no-deps "$HERE"
        ;;
    *) die "FLOCKPORT_PY_INSTALL must be maturin or pip, not $INSTALL" ;;
esac

# Run the checks from a directory without flockport sources, so that the
# installed package (not the tree) is what is imported and checked.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step "flockport.pyi is fresh (generated from flockport-core's declaration)"
(cd "$HERE/.." && cargo test --quiet -p flockport-core --lib api::codegen::tests::pyi_is_fresh) \
    || die "flockport.pyi is stale: run FLOCKPORT_REGEN=1 cargo test -p flockport-core --lib api:: and commit it"

step "stubtest (flockport.pyi against the built module)"
(cd "$WORK" && "$PY" -m mypy.stubtest flockport --allowlist "$HERE/stubtest-allowlist.txt")

step "mypy --strict on the tests and examples/lb_walkthrough.py"
(cd "$HERE/tests" && "$PY" -m mypy --strict --cache-dir "$WORK/mypy-cache" .)
"$PY" -m mypy --strict --cache-dir "$WORK/mypy-cache" "$HERE/../examples/lb_walkthrough.py"

step "pytest"
(cd "$WORK" && "$PY" -m pytest "$HERE/tests" -ra -p no:cacheprovider \
    --rootdir "$HERE" -c "$HERE/pyproject.toml")
