#!/usr/bin/env bash
# Install what vroom's non-Rust tests need on a fresh Debian 12 machine (run as root).
# Idempotent: safe to call before every test run, locally and in CI.
set -euo pipefail

# Work from the repository root whatever the caller's cwd is.
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

# Debian's Chromium is the browser the tests drive: Playwright's own browser download
# cannot be fetched on these machines, so playwright-core launches /usr/bin/chromium.
# Recommended packages are kept on purpose: they bring the fonts pages render with.
if [ ! -x /usr/bin/chromium ]; then
    echo "install-test-deps: installing chromium and chromium-driver (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Korean pages (the API reference, the meeting UI) need a CJK font to render, in the
# screenshots the tests keep as in a user's browser.
if ! fc-list :lang=ko 2>/dev/null | grep -q .; then
    echo "install-test-deps: installing fonts-noto-cjk (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq fonts-noto-cjk >/dev/null
fi

# `ip` and `tc` (iproute2): the tests build network namespaces, veth pairs and a shaped link.
if ! command -v tc >/dev/null || ! command -v ip >/dev/null; then
    echo "install-test-deps: installing iproute2 (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq iproute2 >/dev/null
fi

# `nft` (nftables): the loss scenarios drop a share of a test link's packets at random.
if ! command -v nft >/dev/null; then
    echo "install-test-deps: installing nftables (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nftables >/dev/null
fi

# Node packages of the browser tests. `npm ci` installs exactly the committed lockfile
# (and replaces any stale node_modules), so the result does not drift between runs.
echo "install-test-deps: installing npm packages in tests/browser"
cd tests/browser
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
# The LiveKit Python SDK (native libwebrtc) for the native-client tests, in a venv of ours.
echo "install-test-deps: installing Python packages in tests/python/.venv"
cd ../python
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
echo "install-test-deps: done"
