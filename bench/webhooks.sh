#!/usr/bin/env bash
# Webhook delivery benchmark: events/s and commit-to-POST latency with a healthy receiver,
# then with a second app whose receiver never answers. Results go to BENCHMARKS.md
# (section "## Webhooks (bench/webhooks.sh)"). Everything runs in a network namespace of
# its own with only loopback.
#
#   bench/webhooks.sh [EVENTS]      (default 20000 per scenario)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
EVENTS=${1:-20000}

if [[ ${VROOM_BENCH_INNER:-} != 1 ]]; then
    cargo build --release -p vroom --example webhook_bench
    exec unshare -n env VROOM_BENCH_INNER=1 "$0" "$EVENTS"
fi
ip link set lo up

table=$(timeout 600 target/release/examples/webhook_bench "$EVENTS")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo uncommitted)
git diff --quiet 2>/dev/null || commit="$commit + uncommitted changes"
section=$(mktemp)
trap 'rm -f "$section"' EXIT
{
    echo "## Webhooks (bench/webhooks.sh)"
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') with \`bench/webhooks.sh $EVENTS\` at commit \`$commit\`."
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); kernel $(uname -sr)."
    echo "- Release build; vroom, its SQLite outbox and the receivers in one process, loopback only."
    echo "- Events are member upserts made through the platform by 16 tasks; latency runs from the"
    echo "  upsert's commit to the POST reaching the receiver. Target: ≥ 2,000 events/s, p99 < 100 ms."
    echo "- Second row: a second app with 500 events whose receiver accepts connections and never"
    echo "  answers (every attempt waits for the 10 s timeout); the first app must not slow down."
    echo
    echo "$table"
    echo
} >"$section"
source bench/report.sh
replace_section BENCHMARKS.md "## Webhooks (bench/webhooks.sh)" "$section"
cat "$section"
