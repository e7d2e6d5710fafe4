#!/usr/bin/env bash
# Runs vroom from a fresh checkout: builds the meeting UI (npm) so the binary embeds it,
# then builds and starts vroom (release). Arguments go to `vroom`; none means `serve --dev`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
scripts/build-ui.sh
if [ "$#" -eq 0 ]; then set -- serve --dev; fi
exec cargo run --release -p vroom -- "$@"
