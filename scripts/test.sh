#!/usr/bin/env bash
# Runs every vroom test on a fresh machine: installs what the tests need, checks formatting
# and lints, builds once (dev profile), then runs the Rust tests and the browser tests.
#
# The test phase runs inside a network namespace of its own (loopback, plus a veth pair the
# native-client tests need), so no test can send traffic anywhere else. Building happens before, with
# the network, because cargo and npm download packages.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

step() { printf '\n==> %s\n' "$*"; }

run_tests() {
    set -euo pipefail
    step "cargo test"
    cargo test --workspace --locked --offline
    step "browser tests (headless Chromium)"
    # One file at a time, whatever the machine: the media tests measure frame rates and
    # bandwidth, which must not depend on how many other files happen to share the cores.
    VROOM_BIN=target/debug/vroom node --test --test-concurrency=1 tests/browser/*.test.mjs
    step "native-client tests (LiveKit Python SDK)"
    # libwebrtc gathers no candidates on loopback, so the namespace gets a veth pair with an
    # address of its own; traffic to it stays inside the namespace.
    if ! ip link show vroom0 >/dev/null 2>&1; then
        ip link add vroom0 type veth peer name vroom1
        ip addr add 10.99.0.1/24 dev vroom0
        ip link set vroom0 up
        ip link set vroom1 up
    fi
    VROOM_TEST_NODE_IP=10.99.0.1 VROOM_BIN=target/debug/vroom tests/python/.venv/bin/python -m pytest tests/python -q
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

step "test dependencies (Chromium, npm and Python packages)"
scripts/install-test-deps.sh

step "web SDK, meeting UI and example app (npm: install, lint, typecheck, unit tests, build)"
# Before cargo: the vroom binary embeds web/dist.
scripts/build-ui.sh --check

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build (dev profile: binaries and test executables)"
cargo build --workspace --locked
cargo test --workspace --locked --no-run


# The network rule: tests talk only to addresses inside a namespace of their own.
unshare -n true 2>/dev/null || { echo "error: tests need a network namespace (unshare -n, as root)" >&2; exit 1; }
step "entering a loopback-only network namespace"
exec unshare -n "$0" --inner
