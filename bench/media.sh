#!/usr/bin/env bash
# Benchmark the media server with `vroom loadtest` on a release build and record the results in
# BENCHMARKS.md (section "## Media (bench/media.sh)", replaced on every run; the rest is kept).
#
#   bench/media.sh [--duration S] [--max-subscribers N] [--join-rate R] [--no-livekit]
#                  [--bin PATH] [--out FILE]
#
# Scenarios (each on a freshly started server):
#   audio       5 audio publishers, 100 subscribers, one room;
#   meeting     10 participants each publishing audio + simulcast 720p-like video, all subscribed;
#   meeting25   25 participants, 5 of them publishing audio + simulcast video, all subscribed;
#   audio500    3 audio publishers (a panel), 500 listeners, one room;
#   livestream  1 simulcast video publisher, N subscribers, N = 50, 100, 200, … up to
#               --max-subscribers, stopping after the first step with loss > 0.5 %, failed joins,
#               or a saturated CPU (server or generator above 90 % of a core).
# Per run: forwarded packets/s (RTP packets the subscribers received), server CPU time per
# forwarded packet (utime+stime from /proc/<pid>/stat over the measurement window), loss,
# one-way latency p50/p99, join time p50/p99, server RSS growth per participant, generator CPU,
# and the kernel's UDP receive-buffer drops in the namespace (/proc/net/snmp).
#
# LiveKit side by side: if `go install github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION`
# works (Go module proxy), the binary goes to <repo>/.bench-tools/livekit-$LIVEKIT_VERSION/ (gitignored, never
# committed) and the same scenarios run against `livekit-server --dev` on loopback; the report
# gives vroom/LiveKit ratios. If it cannot be installed, the script and the report say so.
#
# Network rule: servers and generator run together in a network namespace of their own that has
# only loopback (`unshare -n`); the script re-executes itself there. Every run is bounded
# (--duration, join timeouts) and servers are killed by PID.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
START_DIR=$PWD
cd "$ROOT"
source bench/report.sh

SECTION_TITLE='## Media (bench/media.sh)'
# The newest release `go install` accepts: v1.13.6 and later carry `replace` directives it refuses.
LIVEKIT_VERSION=v1.13.5
LIVEKIT_DIR="$ROOT/.bench-tools/livekit-$LIVEKIT_VERSION"
LIVEKIT="$LIVEKIT_DIR/bin/server"

DURATION=15
MAX_SUBS=800
JOIN_RATE=20
NO_LIVEKIT=0
BIN=""
OUT=""
INNER=0
LIVEKIT_NOTE=""

die() { echo "media.sh: $*" >&2; exit 1; }
need_uint() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a whole number, got '$2'"; }

while (($#)); do
    case $1 in
        --duration) need_uint "$1" "${2-}"; DURATION=$2; shift 2 ;;
        --max-subscribers) need_uint "$1" "${2-}"; MAX_SUBS=$2; shift 2 ;;
        --join-rate) need_uint "$1" "${2-}"; JOIN_RATE=$2; shift 2 ;;
        --no-livekit) NO_LIVEKIT=1; shift ;;
        --bin) [[ -n ${2-} ]] || die "--bin needs a path"; BIN=$2; shift 2 ;;
        --out) [[ -n ${2-} ]] || die "--out needs a path"; OUT=$2; shift 2 ;;
        --livekit-note) LIVEKIT_NOTE=$2; shift 2 ;; # internal
        --inner) INNER=1; shift ;;                 # internal: inside the namespace
        -h | --help) awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$SCRIPT"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# ---------------------------------------------------------------------------------------------
# Outer part, with the network: build, install LiveKit.
# ---------------------------------------------------------------------------------------------
if ((!INNER)); then
    for tool in unshare ip curl python3; do command -v "$tool" >/dev/null || die "'$tool' is required"; done
    if [[ -n $OUT && $OUT != /* ]]; then OUT="$START_DIR/$OUT"; fi
    if [[ -n $BIN && $BIN != /* ]]; then BIN="$START_DIR/$BIN"; fi
    OUT=${OUT:-$ROOT/BENCHMARKS.md}
    ensure_binary
    note=""
    if ((NO_LIVEKIT)); then
        note="LiveKit not run (--no-livekit)."
    elif [[ -x $LIVEKIT ]]; then
        echo "==> LiveKit server found at ${LIVEKIT#"$ROOT/"}"
    elif command -v go >/dev/null; then
        echo "==> go install github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION (into .bench-tools/livekit-$LIVEKIT_VERSION, once)"
        mkdir -p "$LIVEKIT_DIR"
        if ! GOBIN="$LIVEKIT_DIR/bin" timeout 1200 go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION" \
            >"$LIVEKIT_DIR/install.log" 2>&1; then
            tail -n 5 "$LIVEKIT_DIR/install.log" >&2
            note="LiveKit could not be installed from the Go module proxy (see .bench-tools/livekit-$LIVEKIT_VERSION/install.log); only vroom was measured."
        fi
    else
        note="Go is not installed, so LiveKit could not be installed; only vroom was measured."
    fi
    [[ -n $note ]] && echo "!! $note"
    userns=()
    ((EUID == 0)) || userns=(-r)
    exec unshare "${userns[@]}" -n bash "$SCRIPT" --inner --duration "$DURATION" --max-subscribers "$MAX_SUBS" \
        --join-rate "$JOIN_RATE" --bin "$BIN" --out "$OUT" --livekit-note "$note"
fi

# ---------------------------------------------------------------------------------------------
# Inner part: inside the loopback-only namespace.
# ---------------------------------------------------------------------------------------------
ip link set lo up
[[ $(ip -o link show | wc -l) -eq 1 ]] || die "network namespace has interfaces besides lo"

TMP=$(mktemp -d /tmp/vroom-media-bench.XXXXXX)
SERVER_PID=""
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=17880
RUN=0
RESULTS="$TMP/results.jsonl" # one line per run: {"server", "scenario", "report": …}
COMMANDS=()

wait_http() { # URL PIDFILE-LOG
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$2" >&2; die "server exited during start-up"; }
        curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null && return
        sleep 0.1
    done
    tail -n 30 "$2" >&2
    die "server not ready after 30 s"
}

start_vroom() {
    RUN=$((RUN + 1))
    local data="$TMP/vroom-$RUN"
    # Per-participant logging would be part of what we measure.
    RUST_LOG=warn "$BIN" serve --dev --bind "127.0.0.1:$PORT" --node-ip 127.0.0.1 --udp-port 0 --data-dir "$data" \
        >"$TMP/server-$RUN.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$PORT/healthz" "$TMP/server-$RUN.log"
    CREDS=(--vroom-app devkey:devsecret)
}

start_livekit() {
    RUN=$((RUN + 1))
    # --dev: keys devkey/secret. Loopback candidates are the only ones in this namespace;
    # warn-level logging keeps the log out of the measurement (dev mode defaults to debug).
    "$LIVEKIT" --dev --bind 127.0.0.1 --node-ip 127.0.0.1 --port "$PORT" \
        --config-body $'rtc:\n  enable_loopback_candidate: true\nlogging:\n  level: warn\n' \
        >"$TMP/server-$RUN.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$PORT/" "$TMP/server-$RUN.log"
    CREDS=(--api-key devkey --api-secret secret)
}

# run_case SERVER SCENARIO -- LOADTEST_ARGS…: one loadtest run on a fresh server.
run_case() {
    local server=$1 scenario=$2
    shift 3
    "start_$server"
    local out="$TMP/run-$RUN.json"
    local cmd=("$BIN" loadtest --url "ws://127.0.0.1:$PORT" "${CREDS[@]}" --duration "${DURATION}s"
        --join-rate "$JOIN_RATE" --json --server-pid "$SERVER_PID" "$@")
    echo "==> [$server] $scenario: ${cmd[*]#"$ROOT/"}" | sed "s#$ROOT/##g"
    COMMANDS+=("$(echo "${cmd[*]}" | sed "s#$ROOT/##g; s#--server-pid [0-9]*#--server-pid \$SERVER_PID#")")
    local rc=0
    timeout $((DURATION + 300)) "${cmd[@]}" >"$out" 2>"$TMP/loadtest-$RUN.err" || rc=$?
    stop_server
    if [[ ! -s $out ]]; then
        cat "$TMP/loadtest-$RUN.err" >&2
        echo "   !! no report (exit $rc)"
        python3 -c 'import json,sys; print(json.dumps({"server":sys.argv[1],"scenario":sys.argv[2],"error":open(sys.argv[3]).read().strip()[-300:]}))' \
            "$server" "$scenario" "$TMP/loadtest-$RUN.err" >>"$RESULTS"
        LAST_VERDICT=stop
        return
    fi
    python3 - "$server" "$scenario" "$out" "$RESULTS" <<'PY'
import json, sys
server, scenario, path, results = sys.argv[1:]
r = json.load(open(path))
with open(results, "a") as f:
    f.write(json.dumps({"server": server, "scenario": scenario, "report": r}) + "\n")
w = r["window"]
fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
print(f"   joined {r['joined']}/{r['setup']['participants']}, {w['received_packets_per_s']:.0f} pkt/s forwarded, "
      f"server {fmt(w['server_cpu_percent'],0)} % CPU = {fmt(w['server_cpu_us_per_forwarded_packet'],2)} µs/pkt, "
      f"loss {r['total']['loss_percent']:.3f} %, latency p50/p99 {fmt(r['total']['latency_p50_ms'])}/{fmt(r['total']['latency_p99_ms'])} ms, "
      f"generator {fmt(w['generator_cpu_percent'],0)} % CPU")
PY
    # Whether the livestream ramp may go on.
    LAST_VERDICT=$(python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
w = r["window"]
saturated = (w["server_cpu_percent"] or 0) > 90 or (w["generator_cpu_percent"] or 0) > 90
print("stop" if r["failed"] > 0 or r["total"]["loss_percent"] > 0.5 or saturated else "go")
PY
)
}

SERVERS=(vroom)
if [[ -z $LIVEKIT_NOTE && -x $LIVEKIT ]]; then SERVERS+=(livekit); fi

for server in "${SERVERS[@]}"; do
    run_case "$server" "audio 5 pub / 100 sub" -- --audio-publishers 5 --subscribers 100
    run_case "$server" "meeting 10 × (audio + simulcast video)" -- --video-publishers 10 --audio-publishers 10 --simulcast
    run_case "$server" "meeting 25: 5 × (audio + simulcast video) + 20" -- --video-publishers 5 --audio-publishers 5 --simulcast --subscribers 20
    run_case "$server" "audio 3 pub / 500 sub" -- --audio-publishers 3 --subscribers 500
    n=50
    while ((n <= MAX_SUBS)); do
        run_case "$server" "livestream 1 simulcast pub / $n sub" -- --video-publishers 1 --simulcast --subscribers "$n"
        [[ $LAST_VERDICT == go ]] || break
        n=$((n * 2))
    done
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo uncommitted)
if [[ $commit != uncommitted && -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    commit="$commit + uncommitted changes"
fi
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
section="$TMP/section.md"
{
    echo "$SECTION_TITLE"
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') with \`bench/media.sh\` at commit \`$commit\`."
    echo
    echo "- Machine: $(nproc) CPUs (\`nproc\`), ${cpu_model:-$(uname -m)}; kernel $(uname -srm)."
    echo "- Build: \`cargo build --release -p vroom\`; $(rustc --version 2>/dev/null || echo 'rustc ?')."
    echo "- Server and generator (\`vroom loadtest\`) share those CPUs, in a network namespace of their own with only loopback."
    echo "- Each row is one run on a freshly started server: participants join at $JOIN_RATE/s, then a ${DURATION} s"
    echo "  measurement window. *Forwarded pkt/s*: RTP packets the subscribers received in the window."
    echo "  *Asked pkt/s*: what they would receive with every track at its top layer (the publishers' top-layer and"
    echo "  audio packets × the room's other participants); *delivered %*: forwarded ÷ asked."
    echo "  *CPU µs/pkt*: the server's utime+stime over the window ÷ those packets (all threads, signalling included)."
    echo "  Loss: sequence-number gaps over the whole run. Latency: one-way, publisher send → subscriber receive,"
    echo "  from a timestamp trailer at the end of each frame. RSS/participant: (RSS at the end − before joins) ÷ participants."
    echo "  UDP drops: the namespace's RcvbufErrors over the window (server and generator sockets together)."
    echo "- Publishers send synthetic VP8 (1.5 Mbit/s top layer, simulcast q/h/f at 10/30/100 %, 30 fps, keyframe every"
    echo "  120 frames) and 32 kbit/s Opus-sized audio (50 packets/s); nothing is encoded."
    if [[ -n $LIVEKIT_NOTE ]]; then
        echo "- **LiveKit: $LIVEKIT_NOTE**"
    elif [[ -x $LIVEKIT ]]; then
        echo "- LiveKit: \`livekit-server $LIVEKIT_VERSION\` built with \`go install github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION\`"
        echo "  ($(go version 2>/dev/null | awk '{print $3}')), run as \`--dev --bind 127.0.0.1 --node-ip 127.0.0.1\` with loopback candidates on and warn-level logs."
    fi
    echo
    python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
fmt = lambda v, d=1: "-" if v is None else f"{v:,.{d}f}"
share = lambda w: w.get("delivered_share")
asked = lambda w: "-" if share(w) is None else f"{w['wanted_packets_per_s']:,.0f} ({share(w) * 100:.0f} %)"
print("| Server | Scenario | Joined | Down-tracks | Forwarded pkt/s | Asked pkt/s (delivered %) | Server CPU % | **Server CPU µs/pkt** | Loss % | Latency p50 / p99 ms | Join p50 / p99 ms | RSS kB/participant | Generator CPU % | UDP drops |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for row in rows:
    if "error" in row:
        print(f"| {row['server']} | {row['scenario']} | failed: {row['error'].splitlines()[-1] if row['error'] else '?'} ||||||||||||")
        continue
    r = row["report"]; w = r["window"]; t = r["total"]; s = r.get("server") or {}
    udp = (w.get("udp") or {}).get("rcvbuf_errors")
    print(f"| {row['server']} | {row['scenario']} | {r['joined']}/{r['setup']['participants']} | {t['tracks']} | "
          f"{fmt(w['received_packets_per_s'],0)} | {asked(w)} | {fmt(w['server_cpu_percent'],0)} | **{fmt(w['server_cpu_us_per_forwarded_packet'],2)}** | "
          f"{t['loss_percent']:.3f} | {fmt(t['latency_p50_ms'])} / {fmt(t['latency_p99_ms'])} | "
          f"{fmt(r['join_ms_p50'],0)} / {fmt(r['join_ms_p99'],0)} | {fmt(s.get('rss_kb_per_participant'),0)} | "
          f"{fmt(w['generator_cpu_percent'],0)} | {'-' if udp is None else udp} |")
by = {}
for row in rows:
    if "report" in row:
        by.setdefault(row["scenario"], {})[row["server"]] = row["report"]
pairs = [(k, v) for k, v in by.items() if "vroom" in v and "livekit" in v]
if pairs:
    print()
    print("vroom ÷ LiveKit on the same scenario (below 1 = vroom uses less / loses less / is faster):")
    print()
    print("| Scenario | CPU µs/pkt vroom / LiveKit | ratio | Forwarded pkt/s vroom / LiveKit | ratio | Loss % vroom / LiveKit | Latency p99 ms vroom / LiveKit |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for k, v in pairs:
        a, b = v["vroom"], v["livekit"]
        ca, cb = a["window"]["server_cpu_us_per_forwarded_packet"], b["window"]["server_cpu_us_per_forwarded_packet"]
        ratio = "-" if not ca or not cb else f"{ca / cb:.2f}"
        fa, fb = a["window"]["received_packets_per_s"], b["window"]["received_packets_per_s"]
        fratio = "-" if not fb else f"{fa / fb:.2f}"
        print(f"| {k} | {fmt(ca,2)} / {fmt(cb,2)} | {ratio} | {fmt(fa,0)} / {fmt(fb,0)} | {fratio} | {a['total']['loss_percent']:.3f} / {b['total']['loss_percent']:.3f} | "
              f"{fmt(a['total']['latency_p99_ms'])} / {fmt(b['total']['latency_p99_ms'])} |")
PY
    echo
    echo "Commands (\`\$SERVER_PID\` is the server's PID; vroom ran as \`target/release/vroom serve --dev --bind 127.0.0.1:$PORT --node-ip 127.0.0.1 --udp-port 0 --data-dir \$TMP/…\`):"
    echo
    echo '```sh'
    for c in "${COMMANDS[@]}"; do echo "$c"; done
    echo '```'
    echo
} >"$section"
replace_section "$OUT" "$SECTION_TITLE" "$section"
echo
cat "$section"
echo "==> report written to $OUT"
