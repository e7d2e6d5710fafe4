#!/usr/bin/env bash
# Benchmark the meeting UI in Debian's Chromium and record the results in BENCHMARKS.md
# (section "## Meeting UI (bench/ui.sh)", replaced on every run; the rest of the file is kept).
#
#   bench/ui.sh [--joins N] [--pages P] [--window S] [--bin PATH] [--out FILE]
#
# 1. Join latency: page open (and "join" click) → first frame of a remote video presented,
#    p50/p99 over N joins of a room where one member has its camera on (target p50 < 1.5 s).
# 2. A meeting of P pages, each in a Chromium of its own, every page publishing its camera:
#    Chromium CPU per page with adaptive stream (the default) and with every track at full
#    size (`adaptiveStream=false`), one after the other in one run, plus what the pages show.
# The driver is bench/ui.mjs (Playwright from tests/browser, which scripts/install-test-deps.sh
# installs). The UI is built first (scripts/build-ui.sh) so the release binary embeds it.
#
# Network rule: vroom and the browsers run in a network namespace of their own with only
# loopback (`unshare -n`); the script re-executes itself there with --inner. The driver has a
# watchdog and kills what it started.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
START_DIR=$PWD
cd "$ROOT"
source "$ROOT/bench/report.sh"

SECTION_TITLE='## Meeting UI (bench/ui.sh)'
JOINS=20
PAGES=9
WINDOW=15
BIN=""
OUT=""
INNER=0

die() { echo "ui.sh: $*" >&2; exit 1; }
need_uint() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a whole number, got '$2'"; }

while (($#)); do
    case $1 in
        --joins) need_uint "$1" "${2-}"; JOINS=$2; shift 2 ;;
        --pages) need_uint "$1" "${2-}"; PAGES=$2; shift 2 ;;
        --window) need_uint "$1" "${2-}"; WINDOW=$2; shift 2 ;;
        --bin) [[ -n ${2-} ]] || die "--bin needs a path"; BIN=$2; shift 2 ;;
        --out) [[ -n ${2-} ]] || die "--out needs a path"; OUT=$2; shift 2 ;;
        --inner) INNER=1; shift ;;
        -h | --help) awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$SCRIPT"; exit 0 ;;
        *) die "unknown argument '$1'" ;;
    esac
done
((JOINS > 0 && PAGES > 1 && WINDOW > 0)) || die "--joins and --window must be > 0, --pages > 1"

if ((!INNER)); then
    if [[ -n $OUT && $OUT != /* ]]; then OUT="$START_DIR/$OUT"; fi
    if [[ -n $BIN && $BIN != /* ]]; then BIN="$START_DIR/$BIN"; fi
    OUT=${OUT:-$ROOT/BENCHMARKS.md}
    [[ -d tests/browser/node_modules/playwright-core ]] || scripts/install-test-deps.sh
    scripts/build-ui.sh
    ensure_binary
    userns=()
    ((EUID == 0)) || userns=(-r)
    exec unshare "${userns[@]}" -n bash "$SCRIPT" --inner --joins "$JOINS" --pages "$PAGES" \
        --window "$WINDOW" --bin "$BIN" --out "$OUT"
fi

ip link set lo up
RESULT=$(mktemp)
SECTION=$(mktemp)
trap 'rm -f "$RESULT" "$SECTION"' EXIT
VROOM_BIN=$BIN node bench/ui.mjs --joins "$JOINS" --pages "$PAGES" --window "$WINDOW" >"$RESULT"

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$RESULT" "$COMMIT" "$JOINS" "$PAGES" "$WINDOW" >"$SECTION" <<'EOF'
import json, sys, datetime
r = json.load(open(sys.argv[1])); commit, joins, pages, window = sys.argv[2:]
j = r["join"]; a = r["meeting"]["adaptive"]; f = r["meeting"]["full"]
ok = "met" if j["fromOpenMs"]["p50"] < 1500 else "missed"
print(f"""## Meeting UI (bench/ui.sh)

Commit `{commit}`, {r['cpus']} × {r['cpuModel']} ({datetime.date.today()}), release build, Debian
Chromium headless with its fake camera at 640×360, 20 fps (as the browser tests publish).
Command: `bench/ui.sh --joins {joins} --pages {pages} --window {window}`.

### Join: page open → first remote video frame presented ({j['fromOpenMs']['n']} joins)

| Measured from | p50 | p99 | min | max |
|---|---|---|---|---|
| page open (navigation start; includes the pre-join screen and its camera preview) | {j['fromOpenMs']['p50']} ms | {j['fromOpenMs']['p99']} ms | {j['fromOpenMs']['min']} ms | {j['fromOpenMs']['max']} ms |
| the "join" click | {j['fromJoinClickMs']['p50']} ms | {j['fromJoinClickMs']['p99']} ms | {j['fromJoinClickMs']['min']} ms | {j['fromJoinClickMs']['max']} ms |

Target p50 < 1.5 s from page open: {ok}.

### A meeting of {pages} pages, every page publishing its camera

Each page in a Chromium of its own (a visible 1280×720 window each); CPU is all Chromium
processes' CPU time over {a['windowS']} s divided by the pages (100 % = one core), measured once every
page shows every other page's video; then {int(pages) - 1} remote tiles per page sampled for 2 s.

| Mode | Chromium CPU per page | vroom CPU | remote videos shown | mean decoded width | mean tile width | mean fps presented |
|---|---|---|---|---|---|---|
| adaptive stream (default) | {a['browserCpuPerPagePct']} % | {a['vroomCpuPct']} % | {a['remoteVideos']} | {a['meanDecodedWidth']} px | {a['meanTileWidth']} px | {a['meanFps']} |
| every track at full size (`adaptiveStream=false`) | {f['browserCpuPerPagePct']} % | {f['vroomCpuPct']} % | {f['remoteVideos']} | {f['meanDecodedWidth']} px | {f['meanTileWidth']} px | {f['meanFps']} |
""")
EOF
replace_section "$OUT" "$SECTION_TITLE" "$SECTION"
cat "$SECTION"
