#!/usr/bin/env bash
# Builds and tests the Node bindings (package `flockport`).
#
#   flockport-node/ci.sh
#
# 1. npm ci (the napi CLI, @napi-rs/cli, is a devDependency; the package's
#    own install script is skipped here because step 2 builds);
# 2. `napi build --platform --release`: the addon flockport.<platform>.node;
# 3. fails when index.d.ts differs from what flockport-core's declaration
#    generates (`cargo test -p flockport-core --lib api::codegen`);
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
# napi-build reruns (and the crate recompiles) when this variable changes.
# The napi CLI's own type definitions go to .napi.d.ts (unused): index.d.ts
# is generated from the core's declaration, as flockport.pyi is.
NAPI_FORCE_BUILD_FLOCKPORT_NODE=$(date +%s%N) npm run --silent build

step "index.d.ts is fresh (generated from flockport-core's declaration)"
(cd "$HERE/.." && cargo test --quiet -p flockport-core --lib api::codegen::tests::dts_is_fresh) \
    || die "index.d.ts is stale: run FLOCKPORT_REGEN=1 cargo test -p flockport-core --lib api:: and commit it"
echo "index.d.ts matches the core's declaration"

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
