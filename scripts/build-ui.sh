#!/usr/bin/env bash
# Builds what vroom serves to browsers: the web SDK (sdk/js) when present and the meeting UI
# (web/ → web/dist, which the vroom binary embeds). Installs the npm packages from the
# committed lockfiles first. `--check` also runs each package's linter, type check and unit
# tests (the test command uses it). Idempotent; run before `cargo build`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

check=false
[ "${1:-}" = "--check" ] && check=true

if ! command -v npm >/dev/null; then
    echo "build-ui: npm is needed to build the meeting UI (apt-get install nodejs npm)" >&2
    exit 1
fi

npm_ci() { npm ci --no-audit --no-fund --loglevel=error; }
has_script() { node -e "process.exit(require('./package.json').scripts?.['$1'] ? 0 : 1)"; }

# Each package: install, build, and with --check its lint, typecheck and test scripts.
package() {
    cd "$1"
    npm_ci
    if has_script build; then npm run --silent build; fi
    if $check; then
        for script in lint typecheck test; do
            if has_script "$script"; then npm run --silent "$script"; fi
        done
    fi
}

for dir in sdk/js web examples/app-backend; do
    [ -f "$dir/package.json" ] || continue
    echo "build-ui: $dir"
    (package "$dir")
done
echo "build-ui: done (web/dist)"
