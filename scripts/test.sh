#!/usr/bin/env bash
# Runs every vroom test on a fresh machine: installs what the tests need, checks formatting
# and lints, builds once (dev profile), then runs the Rust tests and the browser tests.
#
# The test phase runs inside a network namespace of its own that has only loopback
# (`unshare -n`), so no test can send traffic anywhere else. Building happens before, with
# the network, because cargo and npm download packages.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

step() { printf '\n==> %s\n' "$*"; }

run_tests() {
    set -euo pipefail
    step "cargo test"
    cargo test --workspace --locked --offline
    step "browser tests (headless Chromium)"
    VROOM_BIN=target/debug/vroom node --test tests/browser/*.test.mjs
}

# Second stage: re-executed inside the namespace, only the tests run.
if [ "${1:-}" = "--inner" ]; then
    ip link set lo up
    run_tests
    exit 0
fi


step "toolchain components"
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        rustup component add "$component"
    fi
done

step "test dependencies (Chromium, npm packages)"
scripts/install-test-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build (dev profile: binaries and test executables)"
cargo build --workspace --locked
cargo test --workspace --locked --no-run


if unshare -n true 2>/dev/null; then
    step "entering a loopback-only network namespace"
    exec unshare -n "$0" --inner
else
    echo "warning: cannot create a network namespace (unshare -n); running on the host's loopback" >&2
    run_tests
fi
