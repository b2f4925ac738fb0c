#!/usr/bin/env bash
# Builds and tests the Node bindings (package `flockport`).
#
#   flockport-node/ci.sh
#
# 1. npm ci (the napi CLI, @napi-rs/cli, is a devDependency; the package's
#    own install script is skipped here because step 2 builds);
# 2. `napi build --platform --release`: the addon
#    flockport.<platform>.node and index.d.ts, regenerated from the Rust
#    sources (the crate is rebuilt so that the definitions are collected);
# 3. fails when index.d.ts differs from the committed one (it is left
#    regenerated: review and commit it);
# 4. `npm install ./flockport-node` into a scratch project, then
#    `require('flockport')` there, as a user would;
# 5. node --test. Lab tests skip without the lab (tests/lab/lab up) unless
#    FLOCKPORT_LAB=required.
#
# Needs: node (18+) and npm, a Rust toolchain (cargo), network access to npm
# and crates.io on first run. Exits non-zero on any failure.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cd "$HERE"

step() { printf '\n== %s\n' "$*"; }
die() { printf 'ci.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node not found: install Node.js 18+"
command -v npm >/dev/null || die "npm not found: install npm"
command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
node --version

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step "npm ci"
FLOCKPORT_NODE_SKIP_BUILD=1 npm ci --no-audit --no-fund

step "napi build --platform --release"
if [ -f index.d.ts ]; then
    cp index.d.ts "$WORK/index.d.ts.committed"
else
    : > "$WORK/index.d.ts.committed"
fi
# napi-build reruns (and the crate recompiles, emitting its type definitions)
# when this variable changes: a stale cache can never yield a stale index.d.ts.
NAPI_FORCE_BUILD_FLOCKPORT_NODE=$(date +%s%N) npx napi build --platform --release --js false --no-const-enum

step "index.d.ts is fresh"
if ! diff -u "$WORK/index.d.ts.committed" index.d.ts; then
    die "index.d.ts was stale: the regenerated file is in place; review and commit it"
fi
echo "index.d.ts matches the Rust sources"

step "npm install ./flockport-node in a scratch project"
(
    cd "$WORK"
    npm init -y >/dev/null
    npm install --no-audit --no-fund "$HERE"
    node -e "
        const f = require('flockport');
        if (typeof f.Cluster.open !== 'function') throw new Error('no Cluster.open');
        console.log('require(\"flockport\") ok:', Object.keys(f).sort().join(', '));
    "
)

step "node --test"
node --test test/*.test.js
