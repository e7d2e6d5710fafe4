#!/usr/bin/env bash
# Benchmark vroom's HTTP API on a release build and record the results in BENCHMARKS.md
# (section "## API (bench/api.sh)", replaced on every run; the rest of the file is kept).
#
#   bench/api.sh [--duration S] [--warmup S] [--connections N] [--members N] [--port P]
#                [--bin PATH] [--out FILE] [--dry-run]
#
# Scenario 1: GET /v2/members/me with one member's Bearer token.
# Scenario 2: POST /v2/apps/me/members/login (Basic auth) spread over N distinct, pre-created members.
# Each scenario runs once at the maximum rate the server sustains with C connections, then at half
# that rate to read a latency that is not queueing delay. Targets are reported, not enforced.
#
# Load tool: oha, pinned and installed from crates.io into <repo>/.bench-tools (keep that folder out
# of git). oha is used for scenario 2 too: its -Z FILE picks a random line of FILE as the body of
# each request (checked in oha 1.16.0's source: BodyGenerator::Random, `choices.choose(rng)`), so
# one fixed-body tool still spreads logins uniformly over all members, at the same per-request
# cost as scenario 1: a tool far cheaper than the server, which a Python driver would not be.
#
# Rate limits: the server runs with all three disabled (RATE_LIMIT_OFF below): one member at tens of
# thousands of requests a second is exactly the runaway client the default limits stop, and the numbers
# must measure the server, not the limiter, and stay comparable with runs from before the limits.
#
# Network rule: the server and the load tool run together in a network namespace of their own that
# only has loopback (`unshare -n`); the script re-executes itself there with --inner. Everything is
# bounded (durations, per-request timeouts) and the server is killed by PID on exit.
#
# --dry-run: builds and starts nothing; checks the namespace, feeds fake numbers through the report
# writer and writes to --out (default: a temporary copy of BENCHMARKS.md, printed at the end).
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
START_DIR=$PWD
cd "$ROOT"
source "$ROOT/bench/report.sh"

# Pinned so that results stay comparable between runs and -Z keeps the semantics relied on above.
OHA_VERSION=1.16.0
OHA="$ROOT/.bench-tools/bin/oha"
SECTION_TITLE='## API (bench/api.sh)'
API_KEY=devkey
API_SECRET=devsecret
# Per-app, per-member and failed-authentication limits off (0 disables a limit); see the header.
RATE_LIMIT_OFF=(--rate-limit-server-rps 0 --rate-limit-member-rps 0 --rate-limit-auth-failure-rps 0)

# Targets (what the table prints beside each result).
TARGET_ME_RPS=10000
TARGET_LOGIN_RPS=2000
TARGET_HALF_P99_MS=20

DURATION=10
WARMUP=2
CONNS=50
MEMBERS=10000
PORT=18080
BIN=""
OUT=""
DRY_RUN=0
INNER=0

usage() {
    # The header comment down to the paragraph about the load tool.
    awk 'NR > 1 { if (/^# Load tool/ || !/^#/) exit; sub(/^# ?/, ""); print }' "$SCRIPT"
    cat <<EOF
Options (defaults in brackets):
  --duration S      seconds of each measured run [$DURATION]
  --warmup S        seconds of an unrecorded run before each scenario, 0 = none [$WARMUP]
  --connections N   concurrent HTTP/1.1 connections of the load tool [$CONNS]
  --members N       distinct members for the login scenario [$MEMBERS]
  --port P          server port on the namespace's loopback [$PORT]
  --bin PATH        use this vroom binary instead of building target/release/vroom
  --out FILE        report file [BENCHMARKS.md at the repo root; a temp copy with --dry-run]
  --dry-run         no build, no server: fake numbers through the report writer
EOF
}

die() { echo "api.sh: $*" >&2; exit 1; }
need_uint() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a whole number, got '$2'"; }

while (($#)); do
    case $1 in
        --duration) need_uint "$1" "${2-}"; DURATION=$2; shift 2 ;;
        --warmup) need_uint "$1" "${2-}"; WARMUP=$2; shift 2 ;;
        --connections) need_uint "$1" "${2-}"; CONNS=$2; shift 2 ;;
        --members) need_uint "$1" "${2-}"; MEMBERS=$2; shift 2 ;;
        --port) need_uint "$1" "${2-}"; PORT=$2; shift 2 ;;
        --bin) [[ -n ${2-} ]] || die "--bin needs a path"; BIN=$2; shift 2 ;;
        --out) [[ -n ${2-} ]] || die "--out needs a path"; OUT=$2; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        --inner) INNER=1; shift ;; # internal: we are already inside the namespace
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
((DURATION > 0)) || die "--duration must be > 0"
((CONNS > 0)) || die "--connections must be > 0"
((MEMBERS > 0 && MEMBERS <= 99999)) || die "--members must be 1..99999"
((PORT > 0 && PORT < 65536)) || die "--port must be 1..65535"

# ---------------------------------------------------------------------------------------------
# Outer part, in the normal network: things that need the network or the build cache.
# ---------------------------------------------------------------------------------------------
if ((!INNER)); then
    for tool in unshare ip curl python3; do
        command -v "$tool" >/dev/null || die "'$tool' is required"
    done
    # Paths given on the command line are relative to where the user stood, not to the repo.
    if [[ -n $OUT && $OUT != /* ]]; then OUT="$START_DIR/$OUT"; fi
    if [[ -n $BIN && $BIN != /* ]]; then BIN="$START_DIR/$BIN"; fi

    if ((DRY_RUN)); then
        if [[ -z $OUT ]]; then
            # Never put fake numbers into the real file: work on a copy.
            OUT=$(mktemp --suffix=.md /tmp/vroom-bench-dryrun.XXXXXX)
            if [[ -f BENCHMARKS.md ]]; then cp BENCHMARKS.md "$OUT"; else rm -f "$OUT"; fi
        fi
    else
        OUT=${OUT:-$ROOT/BENCHMARKS.md}
        if ! [[ -x $OHA && $("$OHA" --version 2>/dev/null) == "oha $OHA_VERSION" ]]; then
            echo "==> installing oha $OHA_VERSION into .bench-tools/ (a few minutes, once)"
            cargo install oha --version "$OHA_VERSION" --locked --root "$ROOT/.bench-tools" ||
                cargo install oha --version "$OHA_VERSION" --root "$ROOT/.bench-tools"
        fi
        ensure_binary
    fi

    # Root can make a network namespace directly; anyone else needs a user namespace for it.
    userns=()
    ((EUID == 0)) || userns=(-r)
    inner_args=(--inner --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNS"
        --members "$MEMBERS" --port "$PORT" --out "$OUT")
    [[ -n $BIN ]] && inner_args+=(--bin "$BIN")
    ((DRY_RUN)) && inner_args+=(--dry-run)
    exec unshare "${userns[@]}" -n bash "$SCRIPT" "${inner_args[@]}"
fi

# ---------------------------------------------------------------------------------------------
# Inner part: inside the loopback-only namespace.
# ---------------------------------------------------------------------------------------------
ip link set lo up
# Refuse to load anything but loopback: the namespace must have no other interface.
[[ $(ip -o link show | wc -l) -eq 1 ]] || die "network namespace has interfaces besides lo"

TMP=$(mktemp -d /tmp/vroom-bench.XXXXXX)
SERVER_PID=""
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

BASE="http://127.0.0.1:$PORT"
CLK_TCK=$(getconf CLK_TCK)
ROWS=()     # one "|"-separated line per table row
COMMANDS=() # the commands as run, for the report
NOTES=()    # extra lines for the report

# utime+stime (clock ticks) of a process, all its threads included.
proc_cpu_ticks() {
    local line rest f
    read -r line <"/proc/$1/stat"
    rest=${line##*) } # the command name may hold spaces; fields after it are fixed
    read -r -a f <<<"$rest"
    echo $((f[11] + f[12])) # fields 14 and 15 of proc(5); rest starts at field 3
}
# Stop with the server's last words if it is gone (crashed, or killed from outside).
server_alive_or_die() {
    kill -0 "$SERVER_PID" 2>/dev/null && return
    tail -n 30 "$TMP/server.log" >&2
    die "the server (pid $SERVER_PID) is gone: $1"
}
# CPU of this shell's waited-for children (cutime+cstime): how much the load tool itself used.
# Read with builtins only, so no helper process of ours lands in the count.
children_cpu_ticks() {
    local line rest f
    read -r line <"/proc/$$/stat"
    rest=${line##*) }
    read -r -a f <<<"$rest"
    CHILD_TICKS=$((f[13] + f[14]))
}
us_per_req() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "n/a" }'; }

# Print a command the way a reader can rerun it, with $TMP and $TOKEN standing for the temp dir
# and the access token, and paths inside the repo relative to it.
show_cmd() {
    local a words=() safe='^[A-Za-z0-9_./:@%+=,$-]+$'
    for a in "$@"; do
        a=${a//"$TMP"/\$TMP}
        [[ -n ${TOKEN-} ]] && a=${a//"$TOKEN"/\$TOKEN}
        a=${a#"$ROOT/"}
        if [[ $a =~ $safe ]]; then
            words+=("$a")
        elif [[ $a != *[\"\\\`]* ]]; then
            words+=("\"$a\"") # double quotes, so $TMP and $TOKEN still expand
        else
            words+=("'$a'")
        fi
    done
    echo "${words[*]}"
}

# Summarise oha's JSON: "rps_2xx p50_ms p99_ms completed ok non_2xx errors".
# rps counts only 2xx answers, so a server that fails fast cannot look fast.
summarize() {
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution") or {}
ok = sum(v for k, v in codes.items() if k.startswith("2"))
done = sum(codes.values())
errors = sum((d.get("errorDistribution") or {}).values())
total_s = d["summary"]["total"] or float("nan")
pct = d.get("latencyPercentiles") or {}
ms = lambda x: "n/a" if x is None else f"{x * 1000:.2f}"
print(f"{ok / total_s:.0f} {ms(pct.get('p50'))} {ms(pct.get('p99'))} {done} {ok} {done - ok} {errors}")
PY
}

# run_oha NAME RECORD? -- OHA_ARGS...: one oha run with server and client CPU measured around it.
# Sets R_RPS R_P50 R_P99 R_DONE R_FAIL R_SRV_US R_CLI_US.
run_oha() {
    local name=$1 record=$2
    shift 3
    local out="$TMP/$name.json" s0 s1 c0 c1
    # -w: requests still running at the deadline are finished and counted, not reported as
    # errors; -t bounds each request so a stuck server cannot hold the script.
    local cmd=("$OHA" --no-tui --output-format json -o "$out" -w -t 10s -c "$CONNS" "$@")
    ((record)) && COMMANDS+=("$(show_cmd "${cmd[@]}")")
    echo "    $name: $(show_cmd "${cmd[@]}")"
    server_alive_or_die "before $name"
    s0=$(proc_cpu_ticks "$SERVER_PID")
    children_cpu_ticks; c0=$CHILD_TICKS
    "${cmd[@]}"
    children_cpu_ticks; c1=$CHILD_TICKS
    server_alive_or_die "during $name"
    s1=$(proc_cpu_ticks "$SERVER_PID")
    local _ok non2xx errors
    read -r R_RPS R_P50 R_P99 R_DONE _ok non2xx errors < <(summarize "$out")
    R_FAIL="$non2xx / $errors"
    R_SRV_US=$(us_per_req $((s1 - s0)) "$R_DONE")
    R_CLI_US=$(us_per_req $((c1 - c0)) "$R_DONE")
    echo "      -> ${R_RPS} req/s (2xx), p50 ${R_P50} ms, p99 ${R_P99} ms, non-2xx/errors ${R_FAIL}," \
        "server ${R_SRV_US} µs/req, oha ${R_CLI_US} µs/req"
    if ((non2xx + errors > 0)); then
        echo "      !! failed requests; status codes and errors:" >&2
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("statusCodeDistribution"), d.get("errorDistribution"))' "$out" >&2
        echo "      server log, last errors:" >&2
        grep -iE "error|warn" "$TMP/server.log" | tail -n 5 >&2 || true
    fi
}

# Verdicts: a run with any failed request proves nothing, whatever its numbers.
verdict_rps() { # rps target fail
    [[ $3 == "0 / 0" ]] || { echo "invalid (failures)"; return; }
    awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 >= t ? "met" : "missed") }'
}
verdict_p99() { # p99 target fail
    [[ $3 == "0 / 0" ]] || { echo "invalid (failures)"; return; }
    [[ $1 == n/a ]] && { echo "n/a"; return; }
    awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t ? "met" : "missed") }'
}
add_row() { # scenario load target verdict (the rest from the last run_oha)
    ROWS+=("$1|$2|$R_RPS|$R_P50|$R_P99|$R_FAIL|$R_SRV_US|$R_CLI_US|$3|$4")
}

# Scenario: warm up, run at max rate, then at half the measured rate.
# scenario NAME LABEL RPS_TARGET -- OHA_ARGS...
scenario() {
    local name=$1 label=$2 rps_target=$3
    shift 4
    if ((WARMUP > 0)); then
        # Unrecorded: fills connection pools, caches and the allocator before measuring.
        run_oha "$name-warmup" 0 -- -z "${WARMUP}s" "$@"
    fi
    run_oha "$name-max" 1 -- -z "${DURATION}s" "$@"
    local max_rps=$R_RPS
    add_row "$label" "max rate, $CONNS conns, ${DURATION} s" "≥ $(fmt_int "$rps_target") req/s" \
        "$(verdict_rps "$R_RPS" "$rps_target" "$R_FAIL")"
    local half=$((max_rps / 2))
    ((half > 0)) || half=1
    # --latency-correction measures from when each request was due, not when it was sent, so
    # a stalled server shows up in p99 (no coordinated omission).
    run_oha "$name-half" 1 -- -z "${DURATION}s" -q "$half" --latency-correction "$@"
    add_row "$label" "$(fmt_int "$half") req/s (half), $CONNS conns, ${DURATION} s" \
        "p99 < $TARGET_HALF_P99_MS ms" "$(verdict_p99 "$R_P99" "$TARGET_HALF_P99_MS" "$R_FAIL")"
}

# 12345 -> 12,345 (printf's %'d depends on the locale; this does not).
fmt_int() { local n=$1 s=""; while ((${#n} > 3)); do s=",${n: -3}$s"; n=${n:0:-3}; done; echo "$n$s"; }

# Member i's upsert/login body; bench_bodies N prints bodies 1..N, one a line.
member_body() { printf '{"appUserId":"bench-%05d"}' "$1"; }
bench_bodies() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"appUserId\":\"bench-%05d\"}\n", i }'; }

# ---------------------------------------------------------------------------------------------
if ((DRY_RUN)); then
    echo "==> dry run inside the namespace: $(ip -brief addr | tr -s ' ')"
    # Fake numbers chosen to exercise every verdict: met, missed and invalid.
    R_RPS=12345 R_P50=1.80 R_P99=6.40 R_FAIL="0 / 0" R_SRV_US=71 R_CLI_US=38
    add_row "\`GET /v2/members/me\`" "max rate, $CONNS conns, ${DURATION} s" "≥ $(fmt_int $TARGET_ME_RPS) req/s" \
        "$(verdict_rps $R_RPS $TARGET_ME_RPS "$R_FAIL")"
    R_RPS=6172 R_P50=0.90 R_P99=2.10 R_SRV_US=80 R_CLI_US=45
    add_row "\`GET /v2/members/me\`" "6,172 req/s (half), $CONNS conns, ${DURATION} s" "p99 < $TARGET_HALF_P99_MS ms" \
        "$(verdict_p99 $R_P99 $TARGET_HALF_P99_MS "$R_FAIL")"
    R_RPS=1890 R_P50=24.00 R_P99=61.50 R_SRV_US=950 R_CLI_US=40
    add_row "\`POST /v2/apps/me/members/login\`, $(fmt_int "$MEMBERS") members" "max rate, $CONNS conns, ${DURATION} s" \
        "≥ $(fmt_int $TARGET_LOGIN_RPS) req/s" "$(verdict_rps $R_RPS $TARGET_LOGIN_RPS "$R_FAIL")"
    R_RPS=940 R_P50=3.10 R_P99=14.20 R_FAIL="3 / 0" R_SRV_US=990 R_CLI_US=52
    add_row "\`POST /v2/apps/me/members/login\`, $(fmt_int "$MEMBERS") members" "945 req/s (half), $CONNS conns, ${DURATION} s" \
        "p99 < $TARGET_HALF_P99_MS ms" "$(verdict_p99 $R_P99 $TARGET_HALF_P99_MS "$R_FAIL")"
    COMMANDS+=("(dry run: no commands were run)")
    NOTES+=("- **Dry run: fake numbers, nothing was measured.**")
    OHA_DESC="oha (dry run)"
else
    OHA_DESC=$("$OHA" --version)
    DATA="$TMP/data"
    mkdir -p "$DATA"
    # Per-request logging would be part of what we measure; keep the server's log quiet unless
    # the caller asked for something else.
    export RUST_LOG=${RUST_LOG:-warn}
    export VROOM_LOG=${VROOM_LOG:-warn}
    serve=("$BIN" serve --dev --bind "127.0.0.1:$PORT" --data-dir "$DATA" "${RATE_LIMIT_OFF[@]}")
    echo "==> starting $(show_cmd "${serve[@]}")"
    "${serve[@]}" >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    COMMANDS+=("$(show_cmd "${serve[@]}")")
    for i in $(seq 600); do # up to 60 s
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$TMP/server.log" >&2; die "server exited during start-up"; }
        curl -fsS -m 2 -o /dev/null "$BASE/healthz" 2>/dev/null && break
        ((i < 600)) || { tail -n 30 "$TMP/server.log" >&2; die "server not ready after 60 s"; }
        sleep 0.1
    done
    echo "    ready (pid $SERVER_PID)"

    # --- Scenario 1: GET /v2/members/me ---------------------------------------------------
    echo "==> scenario 1: GET /v2/members/me"
    curl -fsS -m 10 -u "$API_KEY:$API_SECRET" -H 'Content-Type: application/json' \
        -d '{"appUserId":"bench-me"}' "$BASE/v2/apps/me/members/login" >"$TMP/login.json" ||
        die "login of bench-me failed"
    TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accessToken"])' "$TMP/login.json")
    code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/v2/members/me")
    [[ $code == 200 ]] || die "GET /v2/members/me answered $code before the load"
    COMMANDS+=("$(show_cmd curl -u "$API_KEY:$API_SECRET" -H 'Content-Type: application/json' -d '{"appUserId":"bench-me"}' "$BASE/v2/apps/me/members/login") # → TOKEN=.accessToken")
    scenario me "\`GET /v2/members/me\`" "$TARGET_ME_RPS" -- \
        -H "Authorization: Bearer $TOKEN" "$BASE/v2/members/me"

    # --- Scenario 2: logins over N distinct members ----------------------------------------
    echo "==> scenario 2: POST /v2/apps/me/members/login over $MEMBERS members"
    # Create the members first, so the measured logins are the steady state (members exist)
    # rather than first-time inserts. curl --parallel keeps 50 requests in flight from one
    # process; each transfer's status is printed and checked.
    cfg="$TMP/create.curlrc"
    # One block per member, "next" between blocks (a trailing one would be an empty transfer,
    # which curl treats as fatal for the whole batch).
    bench_bodies "$MEMBERS" | awk -v url="$BASE/v2/apps/me/members" -v user="$API_KEY:$API_SECRET" '{
        gsub(/"/, "\\\"")
        if (NR > 1) print "next"
        printf "url = \"%s\"\nuser = \"%s\"\nheader = \"Content-Type: application/json\"\n", url, user
        printf "data = \"%s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\nmax-time = 10\n", $0
    }' >"$cfg"
    t0=$(date +%s.%N)
    curl --parallel --parallel-max 50 --no-progress-meter -sS -K "$cfg" >"$TMP/create.codes" || true
    t1=$(date +%s.%N)
    created=$(grep -cE '^20[01]$' "$TMP/create.codes" || true)
    if ((created != MEMBERS)); then
        sort "$TMP/create.codes" | uniq -c >&2
        die "created $created of $MEMBERS members"
    fi
    create_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    echo "    created $MEMBERS members in ${create_s} s"
    COMMANDS+=("curl --parallel --parallel-max 50 --no-progress-meter -K \$TMP/create.curlrc   # $MEMBERS × POST /v2/apps/me/members {\"appUserId\":\"bench-NNNNN\"}")
    NOTES+=("- Scenario 2 first created $(fmt_int "$MEMBERS") members with \`POST /v2/apps/me/members\` (curl --parallel, 50 in flight) in ${create_s} s; not a measurement, just setup.")

    # One body per member; oha picks one at random for every request.
    bench_bodies "$MEMBERS" >"$TMP/login-bodies.txt"
    NOTES+=("- Each measured login's body is drawn uniformly at random from those members (\`oha -Z\`, one body a line).")
    code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -u "$API_KEY:$API_SECRET" \
        -H 'Content-Type: application/json' -d "$(member_body 1)" "$BASE/v2/apps/me/members/login")
    [[ $code == 200 ]] || die "login of an existing member answered $code before the load"
    scenario login "\`POST /v2/apps/me/members/login\`, $(fmt_int "$MEMBERS") members" "$TARGET_LOGIN_RPS" -- \
        -m POST -a "$API_KEY:$API_SECRET" -T application/json -Z "$TMP/login-bodies.txt" \
        "$BASE/v2/apps/me/members/login"

    server_alive_or_die "at the end"
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo uncommitted)
if [[ $commit != uncommitted && -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    commit="$commit + uncommitted changes"
fi
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cpu_model=${cpu_model:-$(uname -m)}

section="$TMP/section.md"
{
    echo "$SECTION_TITLE"
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') with \`bench/api.sh\` at commit \`$commit\`."
    echo
    echo "- Machine: $(nproc) CPUs (\`nproc\`), $cpu_model; kernel $(uname -srm)."
    echo "- Build: \`cargo build --release -p vroom\`; $(rustc --version 2>/dev/null || echo 'rustc ?'); load tool $OHA_DESC."
    echo "- Server and load tool share those CPUs, in a network namespace of their own with only loopback (\`unshare -n\`)."
    echo "- Server: \`vroom serve --dev\` with its rate limits off"
    echo "  (\`${RATE_LIMIT_OFF[*]}\`): the numbers measure the server, not its 429s."
    echo "- req/s counts 2xx answers only; latencies are oha's percentiles over all answers. Half-rate runs use"
    echo "  \`-q\` at half the max run's req/s with \`--latency-correction\` (measured from when each request was due)."
    echo "- CPU µs/req: the process's utime+stime from \`/proc\` across the run, divided by the requests answered."
    for n in "${NOTES[@]}"; do echo "$n"; done
    echo
    echo "| Scenario | Load | req/s (2xx) | p50 ms | p99 ms | non-2xx / errors | server CPU µs/req | oha CPU µs/req | Target | Result |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|---|---|"
    for r in "${ROWS[@]}"; do
        IFS='|' read -r sc load rps p50 p99 fail srv cli target verdict <<<"$r"
        echo "| $sc | $load | $(fmt_int "$rps") | $p50 | $p99 | $fail | $srv | $cli | $target | $verdict |"
    done
    echo
    echo "Commands (\`\$TMP\` is a fresh temporary directory, \`\$TOKEN\` the login's accessToken):"
    echo
    echo '```sh'
    for c in "${COMMANDS[@]}"; do echo "$c"; done
    echo '```'
    echo
} >"$section"

# Replace the section, or append it; every other line of the file stays as it was.
write_report() { replace_section "$1" "$SECTION_TITLE" "$section"; }
write_report "$OUT"

echo
cat "$section"
echo "==> report written to $OUT"
